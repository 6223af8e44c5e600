"""Pull scenarios against the simulator over loopback TLS: resume after a crash, expired delta
tokens, deletes, recurrences, private meetings, one Meeting per meeting, limits and budget."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from collabhub.connector import Page
from collabhub.errors import QuotaExhaustedError
from collabhub.model import Entity, Meeting
from collabhub.testing.sims.m365 import M365Simulator
from collabhub_m365.connector import M365Connector

Factory = Callable[..., M365Connector]


async def read(connector: M365Connector, stream: str, cursor: Any = None, *, stop_after: int | None = None
               ) -> tuple[list[Page], list[Entity]]:
    pages: list[Page] = []
    entities: list[Entity] = []
    reader = connector.stream(stream).read(cursor)
    try:
        async for page in reader:
            pages.append(page)
            for record in page.records:
                entities.extend(connector.stream(stream).normalize(record))
            if stop_after is not None and len(pages) >= stop_after:
                break
    finally:
        await reader.aclose()  # type: ignore[attr-defined]
    return pages, entities


def busiest_organizer(sim: M365Simulator) -> str:
    """The user mailbox that organizes the most events."""
    users = [m for m in sim.state.directory.mailboxes.values() if m.kind == "user"]
    return max(users, key=lambda m: sum(1 for e in m.events.values() if e["isOrganizer"])).address


def delta_calls(sim: M365Simulator, mailbox: str | None = None) -> int:
    path = f"/v1.0/users/{mailbox}/calendarView/delta" if mailbox else r"/calendarView/delta$"
    return sim.count(path) if mailbox else sim.count(path, regex=True)


@pytest.mark.parametrize("commit_batch", [1, 5])  # one Graph page per Page, or several merged
async def test_delta_resumes_after_a_crash_mid_mailbox(connector_factory: Factory, commit_batch: int) -> None:
    async with connector_factory(page_size=2, commit_batch=commit_batch) as connector:
        reference_pages, reference = await read(connector, "events")
    crash_at = next(i for i, p in enumerate(reference_pages, 1)
                    if i > 3 and any(s["round"] == "open" for s in p.cursor["scopes"].values()))
    async with connector_factory(page_size=2, commit_batch=commit_batch) as connector:
        before, first = await read(connector, "events", stop_after=crash_at)
    committed = before[-1].cursor
    mid = [m for m, s in committed["scopes"].items() if s["round"] == "open"]
    assert mid, "the crash must happen in the middle of a mailbox"
    async with connector_factory(page_size=2, commit_batch=commit_batch) as connector:
        _, rest = await read(connector, "events", committed)
    keys = [e.key for e in first + rest]
    assert sorted(keys) == sorted(e.key for e in reference)  # nothing lost
    assert len(keys) == len(set(keys))  # nothing doubled


async def test_incremental_run_is_one_delta_call_per_mailbox(connector_factory: Factory, sim: M365Simulator
                                                           ) -> None:
    async with connector_factory() as connector:
        pages, _ = await read(connector, "events")
        cursor = pages[-1].cursor
        scope = await connector.mailbox_scope()
        sim.reset_calls()
        again, entities = await read(connector, "events", cursor)
    assert entities == [] and again == []
    assert delta_calls(sim) == len(scope)


async def test_expired_delta_token_resyncs_only_that_mailbox(connector_factory: Factory, sim: M365Simulator
                                                           ) -> None:
    async with connector_factory() as connector:
        pages, entities = await read(connector, "events")
        cursor = pages[-1].cursor
        scope = await connector.mailbox_scope()
    victim = next(m.key for m in scope
                  if any(e.extra.get("mailbox") == m.key for e in entities if isinstance(e, Meeting)))
    mine = sorted(e.key for e in entities if e.extra.get("mailbox") == victim)
    sim.expire_delta_tokens(victim)
    sim.reset_calls()
    async with connector_factory() as connector:
        _, reread = await read(connector, "events", cursor)
    assert sorted(e.key for e in reread) == mine
    assert delta_calls(sim, victim) == 2  # 410 Gone, then the full round (one page)
    assert delta_calls(sim) == len(scope) + 1


async def test_sync_state_not_found_400_also_resyncs(connector_factory: Factory, sim: M365Simulator) -> None:
    mailbox = busiest_organizer(sim)
    async with connector_factory(mailboxes=[mailbox], group=None) as connector:
        pages, first = await read(connector, "events")
        sim.expire_delta_tokens(mailbox, status=400)
        _, again = await read(connector, "events", pages[-1].cursor)
    assert sorted(e.key for e in again) == sorted(e.key for e in first)


async def test_deleted_event_is_removed_and_moved_event_is_kept(connector_factory: Factory, sim: M365Simulator
                                                              ) -> None:
    mailbox = busiest_organizer(sim)
    async with connector_factory(mailboxes=[mailbox], group=None) as connector:
        pages, entities = await read(connector, "events")
        cursor = pages[-1].cursor
        own = [e for e in entities if isinstance(e, Meeting) and e.organizer and e.organizer.email == mailbox]
        gone, moved = own[0].source.external_id, own[1].source.external_id
        sim.delete_event(mailbox, gone)
        sim.update_event(mailbox, moved, {"start": {"dateTime": "2027-08-01T01:00:00", "timeZone": "UTC"},
                                          "end": {"dateTime": "2027-08-01T02:00:00", "timeZone": "UTC"}})
        pages, changed = await read(connector, "events", cursor)
    assert [d for p in pages for d in p.deleted] == [gone]
    assert [e.source.external_id for e in changed] == [moved]  # outside the window now, but not cancelled
    assert changed[0].start.year == 2027


async def test_recurring_instances_keep_series_and_private_is_confidential(connector_factory: Factory,
                                                                          sim: M365Simulator) -> None:
    async with connector_factory() as connector:
        _, entities = await read(connector, "events")
    meetings = [e for e in entities if isinstance(e, Meeting)]
    series: dict[str, list[Meeting]] = {}
    for meeting in meetings:
        if meeting.recurrence:
            series.setdefault(meeting.recurrence.series_id, []).append(meeting)
    assert series and all(len(instances) == 4 for instances in series.values())
    for instances in series.values():
        starts = sorted(m.start for m in instances)
        assert all(b - a == timedelta(days=7) for a, b in itertools.pairwise(starts))
    private = [m for m in meetings if m.visibility.value == "private"]
    assert private and all(m.confidential for m in private)


async def test_one_meeting_per_meeting_across_attendee_copies(connector_factory: Factory, sim: M365Simulator,
                                                             company: Any) -> None:
    async with connector_factory() as connector:
        _, entities = await read(connector, "events")
    organizer_copies = sum(len(m.instances()) for m in company.meetings_in("m365"))
    meetings = [e for e in entities if isinstance(e, Meeting)]
    assert len(meetings) == organizer_copies
    assert len({m.extra["iCalUId"] for m in meetings}) == len(meetings)


async def test_rooms_and_their_bookings(connector_factory: Factory, sim: M365Simulator) -> None:
    async with connector_factory() as connector:
        _, rooms = await read(connector, "rooms")
        _, bookings = await read(connector, "room_bookings")
    assert sorted(r.source.external_id for r in rooms) == sorted(r["emailAddress"] for r in sim.state.directory.rooms)
    held = sum(len(sim.mailbox(r["emailAddress"]).events) for r in sim.state.directory.rooms)
    assert len(bookings) == held > 0
    assert {b.resource_id for b in bookings} <= {r.source.external_id for r in rooms}  # type: ignore[attr-defined]


async def test_room_lists_scope_rooms(connector_factory: Factory, sim: M365Simulator) -> None:
    room_list = sim.state.directory.room_lists[0]["emailAddress"]
    async with connector_factory(room_lists=[room_list]) as connector:
        _, rooms = await read(connector, "rooms")
    expected = sim.state.directory.room_list_members[room_list]
    assert sorted(r.source.external_id for r in rooms) == sorted(expected)
    assert all(r.extra["roomLists"] == [room_list] for r in rooms)


async def test_at_most_four_requests_in_flight_per_mailbox(connector_factory: Factory, sim: M365Simulator) -> None:
    from collabhub.connector import Delivery

    mailbox = "jing.xu000@example.com"
    sim.request_latency = 0.05
    async with connector_factory(mailboxes=[mailbox], group=None, http={"max_concurrency": 16}) as connector:
        writer = connector.writers()["event"]
        start = connector.window()[1] - timedelta(days=5)
        deliveries = [Delivery(f"load:{n}", "event", {"mailbox": mailbox},
                               {"title": f"Load {n}", "start": start + timedelta(hours=n),
                                "end": start + timedelta(hours=n, minutes=30)}) for n in range(12)]
        import asyncio

        results = await asyncio.gather(*(writer.deliver(d) for d in deliveries))
    assert len({r.external_id for r in results}) == 12
    assert sim.max_inflight[sim.mailbox(mailbox).id] <= 4
    assert not [c for c in sim.calls if c.status == 429]


async def test_request_budget_stops_the_run_cleanly(connector_factory: Factory) -> None:
    async with connector_factory(request_budget=5) as connector:
        with pytest.raises(QuotaExhaustedError, match="budget of 5"):
            await read(connector, "events")
        assert connector.requests_used <= 5


async def test_getschedule_reports_a_rooms_bookings(connector_factory: Factory, sim: M365Simulator) -> None:
    room = next(r["emailAddress"] for r in sim.state.directory.rooms if sim.mailbox(r["emailAddress"]).events)
    booked = min(sim.mailbox(room).events.values(), key=lambda e: e["start"]["dateTime"])
    from collabhub_m365.mapping import graph_datetime

    start, end = graph_datetime(booked["start"], "start"), graph_datetime(booked["end"], "end")
    async with connector_factory() as connector:
        answer = await connector.availability([room, "nobody@example.com"], start - timedelta(hours=1),
                                              end + timedelta(hours=1), 30)
    assert answer[room].busy and answer[room].busy[0].start == start
    assert "2" in answer[room].availability_view
    assert answer["nobody@example.com"].error


async def test_certificate_credential_and_configured_ca_bundle(tmp_path: Any, company: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "collabhub daemon")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    key_path, cert_path = tmp_path / "app-key.pem", tmp_path / "app-cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv("SSL_CERT_FILE", os.devnull)  # the configured CA bundle must win over the environment
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.devnull)
    with M365Simulator(company, client_id="cert-app", client_secret=None,
                       certificate_pem=cert.public_bytes(serialization.Encoding.PEM)) as sim:
        settings = sim.connector_settings(certificate={"private_key_path": str(key_path),
                                                       "public_certificate_path": str(cert_path)})
        async with M365Connector("outlook", M365Connector.Config.model_validate(settings)) as connector:
            result = await connector.check()
    assert result.ok, result.details
    assert sim.identity.token_requests == 1


async def test_throttling_errors_and_cut_bodies_are_retried(connector_factory: Factory, sim: M365Simulator) -> None:
    async with connector_factory() as connector:
        _, reference = await read(connector, "events")
    sim.faults.rate_limit(2, retry_after=0.05, path="calendarView/delta")
    async with connector_factory() as connector:
        _, throttled = await read(connector, "events")
    sim.faults.fail(2, status=503, path="calendarView/delta")
    async with connector_factory() as connector:
        _, failing = await read(connector, "events")
    sim.faults.truncate(1, path="calendarView/delta")
    async with connector_factory() as connector:
        _, cut = await read(connector, "events")
    expected = sorted(e.key for e in reference)
    assert sorted(e.key for e in throttled) == sorted(e.key for e in failing) == sorted(e.key for e in cut) == expected
    assert sum(1 for c in sim.calls if c.status == 429) == 2
    assert sum(1 for c in sim.calls if c.status == 503) == 2
