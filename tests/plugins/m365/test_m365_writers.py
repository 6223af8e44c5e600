"""Push scenarios against the simulator: idempotent creates, updates in place, room bookings that are
accepted or declined, a create retried after a timeout, and a 429 inside a $batch."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from collabhub.connector import Delivery
from collabhub.model import EntityKind, Link, echo_fingerprint
from collabhub.testing.sims.m365 import M365Simulator
from collabhub_m365.connector import M365Connector
from collabhub_m365.errors import RoomDeclined
from collabhub_m365.mapping import meeting_from_event

Factory = Callable[..., M365Connector]
MAILBOX = "jing.xu000@example.com"


def slot(connector: M365Connector, days: int, hours: int = 0) -> tuple[datetime, datetime]:
    start = connector.window()[0] + timedelta(days=days, hours=9 + hours)
    return start, start + timedelta(hours=1)


def titled(sim: M365Simulator, mailbox: str, title: str) -> list[dict[str, Any]]:
    return [e for e in sim.events(mailbox) if e["subject"] == title]


def a_room(sim: M365Simulator) -> tuple[str, str]:
    room = sorted(sim.state.directory.rooms, key=lambda r: r["emailAddress"])[0]
    return room["emailAddress"], room["displayName"]


async def test_create_then_retry_then_update_in_place(connector_factory: Factory, sim: M365Simulator) -> None:
    async with connector_factory() as connector:
        writer = connector.writers()["event"]
        start, end = slot(connector, 60)
        delivery = Delivery("rule-1:mtg-1:adele", "event", {"mailbox": MAILBOX},
                            {"title": "Coordination digest", "start": start, "end": end, "body": "Risks",
                             "attendees": ["na.li001@example.com"]})
        first = await writer.deliver(delivery)
        again = await writer.deliver(delivery)  # the dispatcher retries after a lost answer
        assert again.external_id == first.external_id
        assert len(titled(sim, MAILBOX, "Coordination digest")) == 1
        event = titled(sim, MAILBOX, "Coordination digest")[0]
        assert first.fingerprint == echo_fingerprint(meeting_from_event(event, "outlook", MAILBOX))
        assert len(titled(sim, "na.li001@example.com", "Coordination digest")) == 1  # the attendee's copy

        link = Link(entity_connector="feishu", entity_kind=EntityKind.MEETING, entity_external_id="mtg-1",
                    target_connector="outlook", channel="event", target_external_id=first.external_id)
        moved = Delivery(delivery.idempotency_key + ":v2", "event", {"mailbox": MAILBOX},
                         {"title": "Coordination digest (moved)", "start": start + timedelta(hours=2),
                          "end": end + timedelta(hours=2)}, link=link)
        updated = await writer.deliver(moved)
    assert updated.external_id == first.external_id
    (event,) = [e for e in sim.events(MAILBOX) if e["id"] == first.external_id]
    assert event["subject"] == "Coordination digest (moved)"
    assert not titled(sim, MAILBOX, "Coordination digest")


async def test_create_retried_after_a_timeout_makes_one_event(connector_factory: Factory, sim: M365Simulator
                                                              ) -> None:
    sim.faults.hang(1, seconds=1.5, path=r"/events$")
    async with connector_factory(http={"timeout": 0.5, "max_wait": 0.2}) as connector:
        start, end = slot(connector, 61)
        result = await connector.writers()["event"].deliver(
            Delivery("rule-1:mtg-2:adele", "event", {"mailbox": MAILBOX},
                     {"title": "Timed out once", "start": start, "end": end}))
    posts = [c for c in sim.calls if c.method == "POST" and c.path.endswith("/events")]
    assert len(posts) == 2  # the first POST timed out on the client side and was sent again
    deadline = time.monotonic() + 10
    while not all(c.status for c in posts) and time.monotonic() < deadline:
        time.sleep(0.05)  # let the hung first request finish on the server too
    events = titled(sim, MAILBOX, "Timed out once")
    assert [e["id"] for e in events] == [result.external_id]
    assert events[0]["transactionId"]


async def test_room_booked_as_resource_attendee_with_matching_location(connector_factory: Factory,
                                                                       sim: M365Simulator) -> None:
    room, name = a_room(sim)
    async with connector_factory() as connector:
        start, end = slot(connector, 62)
        result = await connector.writers()["booking"].deliver(
            Delivery("book:1", "booking", {"mailbox": MAILBOX, "room": room},
                     {"title": "Budget review", "start": start, "end": end}))
    assert result.detail["booking"] == "confirmed"
    (event,) = titled(sim, MAILBOX, "Budget review")
    assert event["location"]["displayName"] == name and event["location"]["locationEmailAddress"] == room
    assert {"type": "resource", "address": room} in [
        {"type": a["type"], "address": a["emailAddress"]["address"]} for a in event["attendees"]]
    assert titled(sim, room, "Budget review")  # the room's calendar holds it now


async def test_room_that_is_busy_declines_with_the_reason(connector_factory: Factory, sim: M365Simulator) -> None:
    room, name = a_room(sim)
    async with connector_factory() as connector:
        start, end = slot(connector, 63)
        sim.create_event("na.li001@example.com", {
            "subject": "Board meeting", "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "location": {"displayName": name, "locationEmailAddress": room},
            "attendees": [{"type": "resource", "emailAddress": {"address": room, "name": name}}]})
        with pytest.raises(RoomDeclined) as caught:
            await connector.writers()["booking"].deliver(
                Delivery("book:2", "booking", {"mailbox": MAILBOX, "room": room},
                         {"title": "Clashing review", "start": start, "end": end}))
    assert caught.value.room == room and not caught.value.retryable
    assert "already booked by 'Board meeting'" in caught.value.reason
    assert not titled(sim, room, "Clashing review")


async def test_room_whose_policy_declines(connector_factory: Factory, sim: M365Simulator) -> None:
    room, _ = a_room(sim)
    sim.set_room_policy(room, "decline")
    async with connector_factory() as connector:
        start, end = slot(connector, 64)
        with pytest.raises(RoomDeclined, match="booking policy refused"):
            await connector.writers()["booking"].deliver(
                Delivery("book:3", "booking", {"mailbox": MAILBOX, "room": room},
                         {"title": "Refused", "start": start, "end": end}))


async def test_room_that_never_answers_is_a_requested_booking(connector_factory: Factory, sim: M365Simulator
                                                               ) -> None:
    room, _ = a_room(sim)
    sim.set_room_policy(room, "manual")
    async with connector_factory(booking_wait_seconds=0.2) as connector:
        start, end = slot(connector, 65)
        result = await connector.writers()["booking"].deliver(
            Delivery("book:4", "booking", {"mailbox": MAILBOX, "room": room},
                     {"title": "Pending", "start": start, "end": end}))
    assert result.detail == {**result.detail, "booking": "requested", "rooms": {room: "none"}}


async def test_batch_with_429_inside_delivers_each_once(connector_factory: Factory, sim: M365Simulator) -> None:
    sim.throttle_batch(2, retry_after=0.05)
    async with connector_factory() as connector:
        writer = connector.writers()["event"]
        deliveries = []
        for n in range(5):
            start, end = slot(connector, 66, n)
            deliveries.append(Delivery(f"bulk:{n}", "event", {"mailbox": MAILBOX},
                                       {"title": f"Bulk {n}", "start": start, "end": end}))
        results = await writer.deliver_many(deliveries)
        again = await writer.deliver_many(deliveries)  # replayed batch: transactionId finds the same events
    assert all(not isinstance(r, Exception) for r in results), results
    assert [r.external_id for r in results] == [r.external_id for r in again]  # type: ignore[union-attr]
    assert sim.batch_sizes[:2] == [5, 2]  # the two throttled inner requests, resent alone
    for n in range(5):
        assert len(titled(sim, MAILBOX, f"Bulk {n}")) == 1


async def test_bad_delivery_is_not_retryable(connector_factory: Factory) -> None:
    from collabhub.errors import DeliveryError

    async with connector_factory() as connector:
        with pytest.raises(DeliveryError, match="no mailbox") as caught:
            await connector.writers()["event"].deliver(Delivery("x", "event", {}, {"title": "t"}))
        assert not caught.value.retryable
        with pytest.raises(DeliveryError, match="not among the rooms"):
            start, end = slot(connector, 67)
            await connector.writers()["booking"].deliver(
                Delivery("y", "booking", {"mailbox": MAILBOX, "room": "nope@example.com"},
                         {"start": start, "end": end}))


async def test_target_calendar_id_writes_into_that_calendar(connector_factory: Factory, sim: M365Simulator) -> None:
    async with connector_factory() as connector:
        start, end = slot(connector, 68)
        await connector.writers()["event"].deliver(
            Delivery("cal:1", "event", {"mailbox": MAILBOX, "calendar_id": "AAMkShared=="},
                     {"title": "Into a named calendar", "start": start, "end": end}))
    assert sim.count(f"/v1.0/users/{MAILBOX}/calendars/AAMkShared==/events", method="POST") == 1


async def test_neutral_booking_payload_with_a_place_id(connector_factory: Factory, sim: M365Simulator) -> None:
    place = sorted(sim.state.directory.rooms, key=lambda r: r["emailAddress"])[-1]
    async with connector_factory() as connector:
        start, end = slot(connector, 69)
        result = await connector.writers()["booking"].deliver(Delivery(
            "neutral:1", "booking", {"mailbox": MAILBOX},
            {"room": place["id"], "title": "Neutral", "start": start.isoformat(), "end": end.isoformat()}))
        with pytest.raises(Exception, match="calendar_id alone"):
            await connector.writers()["event"].deliver(Delivery(
                "neutral:2", "event", {"calendar_id": "cal-1"},
                {"title": "x", "start": start.isoformat(), "end": end.isoformat(), "timezone": "Asia/Shanghai",
                 "attendees": []}))
    assert result.detail["rooms"] == {place["emailAddress"].lower(): "accepted"}
