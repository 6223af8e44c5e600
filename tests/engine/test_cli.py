"""The command line: exit codes, located one-line errors without tracebacks, and each command."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = ROOT / "tests" / "plugin_example"


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        all_plugins: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``python -m collabhub``; the example plugin and the ledger only, unless ``all_plugins``."""
    full_env = {k: v for k, v in os.environ.items() if k != "COLLABHUB_DATABASE_URL"}
    full_env.update({"PYTHONPATH": str(EXAMPLE_DIR), "COLLABHUB_LOAD_PLUGINS": "example,ledger", "COLUMNS": "200",
                     **(env or {})})
    if all_plugins:
        full_env.pop("COLLABHUB_LOAD_PLUGINS", None)
    return subprocess.run([sys.executable, "-m", "collabhub", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def project(tmp_path, items_writer, config_writer):
    items = items_writer(tmp_path / "items.jsonl", 25, bad={3})
    cfg = config_writer(tmp_path, f"sqlite:///{tmp_path / 'hub.sqlite'}", items)
    return tmp_path, cfg


@pytest.mark.parametrize("path", sorted((ROOT / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_validates(path):
    import re

    secrets = {name: "Dummy0" * 7 + "x" for name in re.findall(r"\$\{([A-Z0-9_]+)\}", path.read_text(encoding="utf-8"))}
    env = {**secrets, "PYTHONPATH": "", "COLLABHUB_LOAD_PLUGINS": ""}
    env.pop("COLLABHUB_LOAD_PLUGINS")
    result = cli("validate", "-c", str(path), env=env, all_plugins=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(": ok")


@pytest.mark.parametrize(("text", "expect"), [
    ("store:\n  url: x\n   bad: indent\n", "collabhub.yaml:3:"),
    ("stor:\n  url: x\n", "collabhub.yaml:1:1: stor"),
    ("connectors:\n  n:\n    type: example\n    path: ${NOT_SET_ANYWHERE}\n", "collabhub.yaml:4:11"),
    ("connectors:\n  n:\n    type: example\n    path: a\n    page_size: lots\n", "collabhub.yaml:5:16"),
    ("connectors:\n  n:\n    type: nosuch\n", "collabhub.yaml:3:11"),
])
def test_broken_config_gives_one_located_line_and_exit_2(tmp_path, text, expect):
    (tmp_path / "collabhub.yaml").write_text(text, encoding="utf-8")
    for command in (["validate"], ["sync"]):
        result = cli(*command, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        first = result.stderr.strip().splitlines()[0]
        assert expect in first, result.stderr
        if command == ["sync"]:
            assert len(result.stderr.strip().splitlines()) == 1


def test_sync_status_export_and_review(project):
    _tmp_path, cfg = project
    result = cli("sync", "-c", str(cfg))
    assert result.returncode == 0, result.stderr
    assert "notes" in result.stdout and "ok" in result.stdout

    status = cli("status", "-c", str(cfg))
    assert status.returncode == 0, status.stderr
    assert "quarantined records: 1" in status.stdout
    assert "item 'A-3' has no title" in status.stdout

    jsonl = cli("export", "--kind", "task", "-c", str(cfg))
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert len(rows) == 24 and {r["source"]["external_id"] for r in rows} >= {"A-0", "A-24"}

    as_csv = cli("export", "--kind", "task", "--format", "csv", "-c", str(cfg))
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(table) == 24 and "source.external_id" in table[0] and "title" in table[0]

    review = cli("identity", "review", "-c", str(cfg))
    assert review.returncode == 0 and "nothing to review" in review.stdout

    bad_kind = cli("export", "--kind", "tasks", "-c", str(cfg))
    assert bad_kind.returncode == 2 and "is not a kind" in bad_kind.stderr


def test_plugins_and_db_upgrade(project):
    _tmp_path, cfg = project
    plugins = cli("plugins")
    assert plugins.returncode == 0
    assert "example" in plugins.stdout and "ledger" in plugins.stdout
    upgrade = cli("db", "upgrade", "-c", str(cfg))
    assert upgrade.returncode == 0 and "up to date" in upgrade.stdout


def test_unknown_connector_name_is_a_config_error(project):
    _, cfg = project
    result = cli("sync", "--connector", "nope", "-c", str(cfg))
    assert result.returncode == 2 and "no connector named nope" in result.stderr


def test_unreachable_store_exits_3_without_traceback(project):
    _, cfg = project
    result = cli("sync", "-c", str(cfg), env={"COLLABHUB_DATABASE_URL":
                                              "postgresql+psycopg://nobody:secretpw@127.0.0.1:1/x"})
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr and "secretpw" not in result.stderr
