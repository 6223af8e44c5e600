"""Fixtures for the Feishu connector tests: the sample company, a started simulator, a fake hub sink."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from collabhub.connector import ConnectorContext
from collabhub.model import EntityKind
from collabhub.testing.company import Company, generate_company
from collabhub.testing.sims.feishu import FeishuSimulator
from collabhub_feishu.connector import FeishuConnector


@pytest.fixture(scope="session")
def company() -> Company:
    return generate_company()


@pytest.fixture
def sim(company: Company) -> Iterator[FeishuSimulator]:
    with FeishuSimulator(company) as simulator:
        yield simulator


def make_connector(sim: FeishuSimulator, context: ConnectorContext | None = None, **overrides: Any
                   ) -> FeishuConnector:
    settings = {**sim.connector_settings(), "http": {"max_wait": 2.0}, **overrides}
    return FeishuConnector("feishu-test", FeishuConnector.Config.model_validate(settings), context)


class FakeSink:
    """Records what a webhook receiver asks of the hub; ``first_seen`` remembers ids like the store."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def first_seen(self, source: str, event_id: str) -> bool:
        self.calls.append(("first_seen", (source, event_id)))
        if (source, event_id) in self.seen:
            return False
        self.seen.add((source, event_id))
        return True

    async def request_refresh(self, connector: str, kind: EntityKind, external_ids: Sequence[str]) -> None:
        self.calls.append(("request_refresh", (connector, kind, list(external_ids))))

    async def request_resync(self, connector: str, stream: str, reason: str, scope: str | None = None) -> None:
        self.calls.append(("request_resync", (connector, stream, reason, scope)))

    async def mark_deleted(self, connector: str, kind: EntityKind, external_ids: Sequence[str]) -> None:
        self.calls.append(("mark_deleted", (connector, kind, list(external_ids))))

    async def record_event(self, connector: str, event_type: str, payload: Mapping[str, Any]) -> None:
        self.calls.append(("record_event", (connector, event_type)))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for call, args in self.calls if call == name]


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()
