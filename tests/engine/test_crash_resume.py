"""Kill a real ``collabhub sync`` subprocess with SIGKILL mid-run; the next run must end with the
same store as an uninterrupted run: nothing lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collabhub.store import Store

pytestmark = pytest.mark.slow

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "plugin_example"
N = 1500


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLE_DIR), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["COLLABHUB_LOAD_PLUGINS"] = "example"
    env.pop("COLLABHUB_DATABASE_URL", None)
    return env


def _sync(cfg: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "collabhub", "sync", "-c", str(cfg), "--no-rules"],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _snapshot(store: Store) -> set[tuple[str, str, str, int, bool]]:
    return {(r.kind, r.external_id, r.content_hash, r.version, r.deleted)
            for r in store.iter_entities(include_deleted=True)}


def test_sigkill_mid_run_then_resume_equals_uninterrupted_run(tmp_path, store_url, items_writer, config_writer,
                                                                 sqlite_url):
    items = items_writer(tmp_path / "items.jsonl", N)
    killed_dir = tmp_path / "killed"
    killed_dir.mkdir()
    cfg = config_writer(killed_dir, store_url, items, page_size=15)
    cfg.write_text(cfg.read_text().replace("page_size: 15", "page_size: 15\n    delay: 0.01"))
    store = Store(store_url)
    store.upgrade()

    proc = _sync(cfg)
    deadline = time.monotonic() + 60
    offset = 0
    while time.monotonic() < deadline:
        offset = (store.get_cursor("notes", "items") or {}).get("offset", 0)
        if offset >= 150:
            break
        if proc.poll() is not None:
            pytest.fail(f"sync ended before it could be killed: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    killed_at = (store.get_cursor("notes", "items") or {}).get("offset", 0)
    assert 0 < killed_at < N, f"the kill did not land mid-run (cursor at {killed_at})"
    assert store.count_entities(kind="task") == killed_at  # the cursor never runs ahead of the entities

    resumed = _sync(cfg)
    _out, errs = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, errs.decode()[-2000:]

    ref_dir = tmp_path / "reference"
    ref_dir.mkdir()
    ref_cfg = config_writer(ref_dir, sqlite_url.replace("collabhub.sqlite", "reference.sqlite"), items,
                            page_size=15)
    reference = _sync(ref_cfg)
    _, ref_errs = reference.communicate(timeout=120)
    assert reference.returncode == 0, ref_errs.decode()[-2000:]
    ref_store = Store(sqlite_url.replace("collabhub.sqlite", "reference.sqlite"))

    assert _snapshot(store) == _snapshot(ref_store)
    creates = [c.external_id for c in store.changes_since(0, limit=10 * N) if c.op == "create"]
    assert len(creates) == N == len(set(creates))
    runs = store.recent_runs(connector="notes", limit=5)
    assert [r.status for r in runs] == ["ok", "interrupted"]
    assert "died mid-run" in runs[1].errors[-1]
