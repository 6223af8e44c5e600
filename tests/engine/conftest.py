"""Fixtures for engine tests: the example plugin (from tests/, loaded by entry point) and configs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from collabhub.plugins import PluginHost, reset_host

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "plugin_example"


@pytest.fixture
def example_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginHost]:
    """Put the example plugin's folder on sys.path; its entry point makes it a real plugin.

    Only the example plugin is loaded (built-in connectors are kept out, as llm's tests do).
    """
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    monkeypatch.delenv("COLLABHUB_LOAD_PLUGINS", raising=False)
    reset_host(None)
    host = PluginHost(allow={"example"})
    reset_host(host)
    yield host
    reset_host(None)


def write_items(path: Path, n: int, *, start: int = 0, title: str = "Item {i}", bad: set[int] = frozenset(),
                email: Callable[[int], str | None] = lambda i: f"person{i % 7}@example.com") -> Path:
    """A JSON-lines file of ``n`` action items for the example connector."""
    with path.open("w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            record = {"id": f"A-{i}", "title": "" if i in bad else title.format(i=i), "status": "todo",
                      "updated": "2026-11-02T09:00:00+08:00", "department": "ENG" if i % 2 else "OPS"}
            if email(i):
                record["assignee_email"] = email(i)
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def write_config(tmp_path: Path, store_url: str, items: Path, *, page_size: int = 10, extra: str = "",
                 name: str = "notes") -> Path:
    cfg = tmp_path / "collabhub.yaml"
    cfg.write_text(f"""
store:
  url: "{store_url}"
connectors:
  {name}:
    type: example
    path: "{items}"
    page_size: {page_size}
departments:
  - id: eng
    name: 研发部
    aliases: {{{name}: [ENG]}}
  - id: ops
    name: 运营部
    aliases: {{{name}: [OPS]}}
{extra}
""", encoding="utf-8")
    return cfg


@pytest.fixture
def items_writer() -> Callable[..., Path]:
    return write_items


@pytest.fixture
def config_writer() -> Callable[..., Path]:
    return write_config


@pytest.fixture(autouse=True)
def _example_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every engine test can import the example plugin (as an installed plugin would be)."""
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
