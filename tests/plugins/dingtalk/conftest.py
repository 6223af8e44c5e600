"""Fixtures for the DingTalk plugin: the sample company, a started simulator, connectors pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collabhub.connector import ConnectorContext, Delivery
from collabhub.testing.company import Company, generate_company
from collabhub.testing.sims.dingtalk import DingTalkSimulator
from collabhub_dingtalk.connector import DingTalkConnector
from collabhub_dingtalk.plugin import simulator_settings


class Clock:
    """A settable clock shared by a connector and the simulator."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingSink:
    """A ``WebhookSink`` that records what the connector asked for."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.calls: list[tuple[str, Any]] = []

    async def first_seen(self, source: str, event_id: str) -> bool:
        key = (source, event_id)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    async def request_refresh(self, connector: str, kind: Any, external_ids: Any) -> None:
        self.calls.append(("refresh", (connector, str(kind), list(external_ids))))

    async def request_resync(self, connector: str, stream: str, reason: str, scope: str | None = None) -> None:
        self.calls.append(("resync", (connector, stream)))

    async def mark_deleted(self, connector: str, kind: Any, external_ids: Any) -> None:
        self.calls.append(("deleted", (connector, str(kind), list(external_ids))))

    async def record_event(self, connector: str, event_type: str, payload: Any) -> None:
        self.calls.append(("event", (connector, event_type)))


def make_connector(sim: DingTalkSimulator, *, clock: Any = None, name: str = "dt", **overrides: Any,
                   ) -> DingTalkConnector:
    settings = {**simulator_settings(sim), "qps_wait": 0.01, **overrides}
    settings["http"] = {"max_wait": 0.05, **settings.get("http", {})}
    context = ConnectorContext(clock=clock) if clock is not None else ConnectorContext()
    return DingTalkConnector(name, DingTalkConnector.Config.model_validate(settings), context)


@pytest.fixture(scope="session")
def company() -> Company:
    return generate_company()


@pytest.fixture
def sim(company: Company) -> Iterator[DingTalkSimulator]:
    with DingTalkSimulator(company) as started:
        yield started  # type: ignore[misc]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked_sim(company: Company, clock: Clock) -> Iterator[DingTalkSimulator]:
    with DingTalkSimulator(company, clock=clock) as started:
        yield started  # type: ignore[misc]


def sample_deliveries(sim: DingTalkSimulator) -> dict[str, Delivery]:
    """One delivery per channel, valid against this simulator."""
    operator = sim.company.people[0].dingtalk_union_id
    other = sim.company.people[1].dingtalk_union_id
    free_event = next(e for e in sim.state.events.values() if not e.get("meetingRooms") and not e.get("recurrence"))
    room = next(r for r in sorted(sim.state.rooms) if not sim.room_busy(r, free_event))
    start = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    return {
        "card": Delivery("suite-robot-1", "card", {"robot": "coordination"},
                          {"title": "协调会提醒", "text": "### 月度跨部门协调会\n- 时间：周一 10:00"}),
        "task": Delivery("suite-todo-1", "task", {"union_id": operator},
                         {"subject": "准备月度协调会纪要", "description": "from the hub",
                          "due": "2026-12-05T10:00:00+08:00", "executors": [other]}),
        "event": Delivery("suite-event-1", "event", {"union_id": operator},
                          {"summary": "Cross-team sync", "start": start.isoformat(),
                           "end": (start + timedelta(hours=1)).isoformat(), "attendees": [other]}),
        "booking": Delivery("suite-room-1", "booking", {"union_id": free_event["organizer"]["id"],
                                                  "event_id": free_event["id"]}, {"rooms": [room]}),
    }


def dingtalk_harness(tmp_path: Path) -> Iterator[Any]:
    """The standard-suite harness: a started simulator and the settings that reach it."""
    from collabhub.testing.suite import SuiteHarness

    with DingTalkSimulator(generate_company()) as sim:
        settings = simulator_settings(sim)
        yield SuiteHarness(DingTalkConnector, settings, simulator=sim, sample_deliveries=sample_deliveries(sim),
                           name="dingtalk")
