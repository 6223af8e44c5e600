"""The standard connector suite against the Microsoft 365 simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collabhub.connector import ConnectorContext, Delivery
from collabhub.testing.company import generate_company
from collabhub.testing.sims.m365 import M365Simulator
from collabhub.testing.suite import ConnectorSuite, SuiteHarness
from collabhub_m365.connector import M365Connector

NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


def _sample_deliveries(sim: M365Simulator) -> dict[str, Delivery]:
    """One event and one room booking in the first mailbox's calendar, well after the seeded meetings."""
    mailbox = sorted(m.address for m in sim.state.directory.mailboxes.values() if m.kind == "user")[0]
    room = sorted(r["emailAddress"] for r in sim.state.directory.rooms)[0]
    start = NOW + timedelta(days=40, hours=2)
    event = Delivery("suite:event:1", "event", {"mailbox": mailbox},
                     {"title": "Cross-department sync", "start": start.isoformat(),
                      "end": (start + timedelta(hours=1)).isoformat(), "body": "Agenda: asks and risks"})
    booking = Delivery("suite:booking:1", "booking", {"mailbox": mailbox, "room": room},
                       {"title": "Budget review", "start": (start + timedelta(days=1)).isoformat(),
                        "end": (start + timedelta(days=1, hours=1)).isoformat()})
    return {"event": event, "booking": booking}


def m365_harness(tmp_path: Path) -> Iterator[SuiteHarness]:
    """The sample company on a TLS simulator; small pages so every mailbox spans several pages."""
    with M365Simulator(generate_company()) as sim:
        yield SuiteHarness(M365Connector, sim.connector_settings(page_size=4), simulator=sim,
                           sample_deliveries=_sample_deliveries(sim),
                           context=ConnectorContext(clock=lambda: NOW), name="outlook")


class TestM365Connector(ConnectorSuite, harness=m365_harness):
    pass
