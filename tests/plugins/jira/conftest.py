"""Fixtures for the Jira connector tests: simulators over loopback, connectors pointed at them, a recording
webhook sink, and a loopback server for the hub's webhook endpoint. Helpers reach tests through the ``kit``
fixture (the test folder is not a package: a package named ``jira`` would hide the ``jira`` library)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from collabhub.connector import ConnectorContext, Page
from collabhub.model import EntityKind
from collabhub.testing.company import generate_company
from collabhub.testing.sims.jira import JiraSimulator
from collabhub.testing.sims.loopback import serve_app
from collabhub_jira.connector import JiraConnector

WEBHOOK_SECRET = "test-webhook-secret"


def settings_for(sim: JiraSimulator, **overrides: Any) -> dict[str, Any]:
    """Connector settings (as YAML would hold them) that reach ``sim``."""
    return sim.connector_settings(**{"webhook_secret": WEBHOOK_SECRET, "http": {"max_wait": 5, "timeout": 10},
                                     **overrides})


def make_connector(sim: JiraSimulator, *, name: str = "jira", context: ConnectorContext | None = None,
                   **overrides: Any) -> JiraConnector:
    config = JiraConnector.Config.model_validate(settings_for(sim, **overrides))
    return JiraConnector(name, config, context)


async def read_pages(connector: JiraConnector, cursor: Mapping[str, Any] | None = None) -> list[Page]:
    return [page async for page in connector.stream("issues").read(cursor)]


def last_cursor(pages: Sequence[Page], start: Mapping[str, Any] | None = None) -> Mapping[str, Any] | None:
    cursor = start
    for page in pages:
        cursor = page.cursor if page.cursor is not None else cursor
    return cursor


def record_ids(pages: Sequence[Page]) -> list[str]:
    return [str(r["id"]) for page in pages for r in page.records]


class RecordingSink:
    """A ``WebhookSink`` that remembers what the receiver asked for."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.refreshes: list[tuple[str, EntityKind, list[str]]] = []
        self.deleted: list[tuple[str, EntityKind, list[str]]] = []
        self.resyncs: list[tuple[str, str, str]] = []
        self.events: list[tuple[str, str, Mapping[str, Any]]] = []

    @property
    def recorded(self) -> int:
        return len(self.seen) + len(self.refreshes) + len(self.deleted) + len(self.resyncs) + len(self.events)

    async def first_seen(self, source: str, event_id: str) -> bool:
        if (source, event_id) in self.seen:
            return False
        self.seen.add((source, event_id))
        return True

    async def request_refresh(self, connector: str, kind: EntityKind, external_ids: Sequence[str]) -> None:
        self.refreshes.append((connector, kind, list(external_ids)))

    async def request_resync(self, connector: str, stream: str, reason: str, scope: str | None = None) -> None:
        self.resyncs.append((connector, stream, reason))

    async def mark_deleted(self, connector: str, kind: EntityKind, external_ids: Sequence[str]) -> None:
        self.deleted.append((connector, kind, list(external_ids)))

    async def record_event(self, connector: str, event_type: str, payload: Mapping[str, Any]) -> None:
        self.events.append((connector, event_type, payload))


@pytest.fixture(scope="session")
def small_company():
    return generate_company(tasks=900, task_systems=("jira",))


@pytest.fixture
def cloud_sim(small_company) -> Iterator[JiraSimulator]:
    with JiraSimulator(small_company) as sim:
        yield sim


@pytest.fixture
def dc_sim(small_company) -> Iterator[JiraSimulator]:
    with JiraSimulator(small_company, deployment="datacenter", dc_max_results=100, dc_result_window=300) as sim:
        yield sim


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above, for test modules."""
    return SimpleNamespace(settings_for=settings_for, connector=make_connector, read_pages=read_pages,
                           last_cursor=last_cursor, record_ids=record_ids, serve=serve_app,
                           secret=WEBHOOK_SECRET)
