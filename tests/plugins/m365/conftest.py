"""Fixtures for the Microsoft 365 connector: the sample company, a TLS simulator, a recording sink,
and a loopback TLS server for the hub's webhook endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collabhub.connector import ConnectorContext
from collabhub.model import EntityKind
from collabhub.testing.company import Company, generate_company
from collabhub.testing.sims.loopback import serve_app
from collabhub.testing.sims.m365 import M365Simulator
from collabhub.testing.sims.m365.tls import make_test_certificates
from collabhub_m365.connector import M365Connector

NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)  # inside the sample company's month of meetings


class Clock:
    """A "now" shared by the connector and the simulator; tests move it forward."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_connector(sim: M365Simulator, clock: Callable[[], datetime], **overrides: Any) -> M365Connector:
    http = overrides.pop("http", {})
    settings = sim.connector_settings(**overrides)
    settings["http"] = {**settings.get("http", {}), "max_wait": 2.0, **http}
    return M365Connector("outlook", M365Connector.Config.model_validate(settings), ConnectorContext(clock=clock))


@pytest.fixture(scope="session")
def company() -> Company:
    return generate_company()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(company: Company, clock: Clock) -> Iterator[M365Simulator]:
    with M365Simulator(company, clock=clock) as simulator:
        yield simulator


@pytest.fixture
def connector_factory(sim: M365Simulator, clock: Clock) -> Callable[..., M365Connector]:
    """``connector_factory(**settings)``: a connector on the simulator, on the shared clock."""
    return lambda **overrides: make_connector(sim, clock, **overrides)


class RecordingSink:
    """Records what the webhook receiver asks of the hub; ``first_seen`` remembers ids like the store."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def first_seen(self, source: str, event_id: str) -> bool:
        fresh = (source, event_id) not in self.seen
        self.seen.add((source, event_id))
        return fresh

    async def request_refresh(self, connector: str, kind: EntityKind, external_ids: Sequence[str]) -> None:
        self.calls.append(("refresh", (connector, kind, tuple(external_ids))))

    async def request_resync(self, connector: str, stream: str, reason: str, scope: str | None = None) -> None:
        self.calls.append(("resync", (connector, stream, scope)))

    async def mark_deleted(self, connector: str, kind: EntityKind, external_ids: Sequence[str]) -> None:
        self.calls.append(("deleted", (connector, kind, tuple(external_ids))))

    async def record_event(self, connector: str, event_type: str, payload: Mapping[str, Any]) -> None:
        self.calls.append(("event", (connector, event_type)))

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[str, tuple[Any, ...]]]:
        """Background processing runs after the 202: wait until ``count`` calls arrived."""
        deadline = time.monotonic() + timeout
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.calls)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


class LateApp:
    """An ASGI app set after the server is up (the connector needs the server's URL first)."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture
def hub_server(tmp_path: Path) -> Iterator[tuple[str, LateApp]]:
    """The base URL (``https://127.0.0.1:<port>/``) of a loopback TLS server, and the app it serves (set it later)."""
    certs = make_test_certificates(tmp_path / "hub-tls")
    late = LateApp()
    with serve_app(late, ssl_certfile=certs.cert_path, ssl_keyfile=certs.key_path) as url:
        yield url, late
