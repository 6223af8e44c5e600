"""The engine reads pages ahead while the previous page commits: order, bounds, errors, stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from collabhub.config import load_config
from collabhub.connector import CheckResult, Connector, ConnectorConfig, Page, Stream
from collabhub.engine import READ_AHEAD, Engine
from collabhub.errors import RemoteError
from collabhub.hookspecs import hookimpl
from collabhub.model import Entity, EntityKind, SourceRef, Task
from collabhub.plugins import PluginHost
from collabhub.store import Store

PAGES = 8
PER_PAGE = 3


class Settings(ConnectorConfig):
    fail_at: int | None = None  # the page whose read raises
    odd_record_in: int | None = None  # a page that also carries a record of the wrong shape


class Counted(Stream):
    """Pages of PER_PAGE tasks; logs each page read and whether the generator was closed."""

    name = "tasks"
    kind = EntityKind.TASK
    log: list[str] = []

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        start = int((cursor or {}).get("page", 0))
        try:
            for number in range(start, PAGES):
                if number == self.connector.config.fail_at:
                    raise RemoteError("page endpoint answered HTTP 500", connector=self.connector.name)
                await asyncio.sleep(0)
                self.log.append(f"read {number}")
                records: list[Any] = [{"id": f"T-{number}-{i}"} for i in range(PER_PAGE)]
                if number == self.connector.config.odd_record_in:
                    records.insert(1, "not an object")
                yield Page(records=records, cursor={"page": number + 1})
        finally:
            self.log.append("closed")

    def normalize(self, record: Any) -> Iterable[Entity]:
        title = record.get("title") or record["id"]  # a str record fails here: AttributeError
        yield Task(source=SourceRef(connector=self.connector.name, kind=EntityKind.TASK,
                                    external_id=record["id"]), title=title)


class CountedConnector(Connector):
    type = "counted"
    Config = Settings
    stream_classes = (Counted,)

    async def check(self) -> CheckResult:
        return CheckResult.passed("in memory")


class Plugin:
    @hookimpl
    def register_connectors(self, register: Any) -> None:
        register(CountedConnector)


@pytest.fixture
def hub(tmp_path: Path, store_url: str):
    host = PluginHost(load_entry_points=False)
    host.register(Plugin(), name="counted")

    def make(**settings: Any) -> tuple[Any, Store, PluginHost]:
        cfg = tmp_path / "hub.yaml"
        options = "".join(f"    {key}: {value}\n" for key, value in settings.items())
        cfg.write_text(f'store: {{url: "{store_url}"}}\n'
                       f"connectors:\n  counted:\n    type: counted\n{options}", encoding="utf-8")
        config = load_config(cfg, host=host)
        store = Store(config.store.url)
        store.upgrade()
        return config, store, host

    Counted.log = []
    return make


def _run(config: Any, store: Store, host: PluginHost, on_page: Any = None, stop_after: int | None = None) -> Any:
    async def go() -> Any:
        engine = Engine(config, store, host)

        def page_done(connector: str, stream: str, stats: Any) -> None:
            Counted.log.append(f"commit {stats.pages - 1}")
            if stop_after is not None and stats.pages == stop_after:
                engine.stop.set()

        engine.on_page = page_done
        try:
            return await engine.run_connector("counted")
        finally:
            await engine.aclose()

    return asyncio.run(go())


def test_pages_commit_in_order_and_reading_runs_at_most_a_few_pages_ahead(hub: Any) -> None:
    config, store, host = hub()
    summary = _run(config, store, host)
    assert summary.status == "ok" and summary.total("created") == PAGES * PER_PAGE
    log = Counted.log
    commits = [int(e.split()[1]) for e in log if e.startswith("commit")]
    assert commits == list(range(PAGES))
    for position, entry in enumerate(log):
        if entry.startswith("read"):
            committed = sum(1 for e in log[:position] if e.startswith("commit"))
            # one page in the reader's hand plus READ_AHEAD waiting, never more
            assert int(entry.split()[1]) <= committed + READ_AHEAD + 1
    # and it does read ahead: some page is read before the page before it has committed
    assert any(log.index(f"read {n}") < log.index(f"commit {n - 1}") for n in range(1, PAGES))
    assert log[-1] == "commit 7" and "closed" in log
    assert store.get_cursor("counted", "tasks") == {"page": PAGES}


def test_a_read_error_comes_after_the_pages_read_before_it_are_committed(hub: Any) -> None:
    config, store, host = hub(fail_at=5)
    summary = _run(config, store, host)
    assert summary.status == "failed"
    assert "HTTP 500" in summary.errors[0]
    assert store.count_entities(kind="task") == 5 * PER_PAGE
    assert store.get_cursor("counted", "tasks") == {"page": 5}
    assert "closed" in Counted.log

    config, store, host = hub()  # the remote recovered: the next run resumes at page 5
    again = _run(config, store, host)
    assert again.status == "ok" and again.total("created") == 3 * PER_PAGE


def test_stop_commits_the_page_in_hand_and_drops_the_pages_read_ahead(hub: Any) -> None:
    config, store, host = hub()
    summary = _run(config, store, host, stop_after=2)
    assert summary.status == "interrupted"
    assert store.get_cursor("counted", "tasks") == {"page": 2}
    assert store.count_entities(kind="task") == 2 * PER_PAGE
    assert Counted.log.count("closed") == 1  # the reader's generator was closed, not abandoned
    creates = [c for c in store.changes_since(0, limit=100) if c.op == "create"]
    assert len(creates) == 2 * PER_PAGE


def test_a_record_of_the_wrong_shape_is_quarantined_not_a_crash(hub: Any) -> None:
    config, store, host = hub(odd_record_in=3)
    summary = _run(config, store, host)
    assert summary.status == "ok", summary.errors
    assert (summary.total("created"), summary.total("quarantined")) == (PAGES * PER_PAGE, 1)
    (item,) = store.quarantined()
    assert item.reason.startswith("AttributeError") and item.raw == "not an object"
