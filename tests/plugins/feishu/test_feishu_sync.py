"""Streams against the simulator over loopback: full loads, increments, crashes, tokens, limits, scopes."""

from __future__ import annotations

import collections
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from collabhub.connector import Page, Stream
from collabhub.errors import AuthError
from collabhub.model import Booking, EntityKind, Meeting, Task
from collabhub.testing.sims.feishu import FeishuSimulator
from collabhub_feishu.connector import FeishuConnector

from .conftest import make_connector


async def read_all(stream: Stream, cursor: Any = None) -> tuple[list[Page], Any]:
    pages = [page async for page in stream.read(cursor)]
    last = cursor
    for page in pages:
        if page.cursor is not None:
            last = page.cursor
    return pages, last


def entities(stream: Stream, pages: list[Page]) -> list[Any]:
    return [e for page in pages for record in page.records for e in stream.normalize(record)]


async def sync_everything(connector: FeishuConnector, cursors: dict[str, Any] | None = None
                          ) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    found: dict[str, list[Any]] = {}
    out: dict[str, Any] = {}
    for stream in connector.streams():
        pages, out[stream.name] = await read_all(stream, (cursors or {}).get(stream.name))
        found[stream.name] = entities(stream, pages)
    return found, out


def shared_calendar(sim: FeishuSimulator) -> str:
    return next(c for c in sim.state.app_calendar_ids if sim.state.calendars[c]["type"] == "shared")


async def test_full_load_then_nothing_new(sim: FeishuSimulator) -> None:
    async with make_connector(sim) as feishu:
        first, cursors = await sync_everything(feishu)
        kinds = collections.Counter(e.kind for items in first.values() for e in items)
        assert kinds[EntityKind.PERSON] == len(sim.state.users)
        assert kinds[EntityKind.DEPARTMENT] == len(sim.state.departments)
        assert kinds[EntityKind.RESOURCE] == len(sim.state.rooms)
        room_requests = sim.connector_settings()["approvals"][0]["code"]
        assert kinds[EntityKind.TASK] == len(sim.state.tasks) + sum(
            1 for i in sim.state.instances.values() if i["approval_code"] != room_requests)
        meetings = [e for e in first["events"] if isinstance(e, Meeting)]
        assert len(meetings) == len({m.source.external_id for m in meetings}) == len(sim.state.events)
        assert any(m.recurrence and m.recurrence.is_exception for m in meetings)
        assert any(m.confidential for m in meetings) or not any(
            e["visibility"] == "private" for e in sim.state.events.values())
        sim.reset_calls()
        second, _ = await sync_everything(feishu, cursors)
    assert second["departments"] == second["users"] == second["rooms"] == []
    assert second["events"] == [] and second["tasks"] == []
    assert sim.count("/open-apis/task/v2/tasks/") == 0  # no task detail re-fetched
    pending = {f"approval:{c}" for c, i in sim.state.instances.items() if i["status"] == "PENDING"}
    assert {e.source.external_id for e in second["approvals"]} == pending  # only pending ones re-checked


async def test_token_expiry_mid_sync(sim: FeishuSimulator) -> None:
    async with make_connector(sim) as feishu:
        stream = feishu.stream("events")
        seen, expired_at = 0, None
        async for page in stream.read(None):
            seen += len(page.records)
            if seen and expired_at is None:
                sim.expire_tokens()  # once, mid-sync: the next API call answers 99991663
                expired_at = sim.token_requests
        assert feishu.token_fetches == 2
    assert sim.token_requests == expired_at + 1
    rejected = [c for c in sim.calls if c.status == 400 and "/calendar/" in c.path]
    assert len(rejected) == 1
    assert seen == len(sim.state.events)


async def test_rate_limit_inside_a_200_body_is_waited_out(sim: FeishuSimulator) -> None:
    sim.rate_limit_status = 200
    sim.faults.rate_limit(2, retry_after=0.05, path=r"/calendar/v4/calendars/[^/]+/events$")
    async with make_connector(sim) as feishu:
        pages, _ = await read_all(feishu.stream("events"))
    events_calls = [c for c in sim.calls if c.path.endswith("/events")]
    assert len(events_calls) == len(pages[0].cursor["calendars"]) + 2  # each limited call was retried once
    assert {r["event_id"] for p in pages for r in p.records} == set(sim.state.events)


async def test_sync_token_resume_after_a_crash(sim: FeishuSimulator) -> None:
    calendar = shared_calendar(sim)
    begin = datetime.now(UTC) + timedelta(days=1)
    for i in range(130):
        sim.add_event(calendar, summary=f"Standup {i}", start=begin + timedelta(hours=i),
                      end=begin + timedelta(hours=i, minutes=15))
    settings = {"event_page_size": 50, "primary_calendars": False}
    async with make_connector(sim, **settings) as feishu:
        reference, final = await read_all(feishu.stream("events"))
        expected = collections.Counter(r["event_id"] for p in reference for r in p.records)
        mid = [i for i, p in enumerate(reference) if p.cursor and (p.cursor["scopes"].get(calendar) or {}).get(
            "page_token")]
        assert mid, "the big calendar must take several pages"
        crash_after = mid[0]
        committed = reference[:crash_after + 1]
        resumed, resumed_final = await read_all(feishu.stream("events"), committed[-1].cursor)
        got = collections.Counter(r["event_id"] for p in committed + resumed for r in p.records)
        assert got == expected  # nothing lost, nothing doubled
        assert resumed_final["scopes"] == final["scopes"] or all("sync_token" in s for s in
                                                                    resumed_final["scopes"].values())
        changed = next(e for e in expected if sim.state.events[e]["summary"].startswith("Standup"))
        sim.update_event(changed, summary="Standup (moved)")
        increment, _ = await read_all(feishu.stream("events"), resumed_final)
    assert [r["event_id"] for p in increment for r in p.records] == [changed]
    for call in sim.calls:
        query = parse_qs(call.query)
        assert not ("sync_token" in query and ("start_time" in query or "end_time" in query))


async def test_rejected_sync_token_reloads_that_calendar(sim: FeishuSimulator) -> None:
    async with make_connector(sim, primary_calendars=False) as feishu:
        _, cursor = await read_all(feishu.stream("events"))
        calendar = shared_calendar(sim)
        cursor["scopes"][calendar] = {"sync_token": "bm90LWEtdG9rZW4"}
        pages, after = await read_all(feishu.stream("events"), cursor)
    reloaded = [r for p in pages for r in p.records if r["_calendar_id"] == calendar]
    assert len(reloaded) == len(sim.state.live_events(calendar, None))
    assert "sync_token" in after["scopes"][calendar]


async def test_calendar_resync_scope_drops_only_that_calendar(sim: FeishuSimulator) -> None:
    async with make_connector(sim, primary_calendars=False) as feishu:
        _, cursor = await read_all(feishu.stream("events"))
        calendar = shared_calendar(sim)
        cursor["scopes"].pop(calendar)  # what HubSink.request_resync(scope=calendar) does
        sim.reset_calls()
        await read_all(feishu.stream("events"), cursor)
    anchored = [c for c in sim.calls if "anchor_time" in c.query]
    assert len(anchored) == 1 and calendar.split("@")[0] in anchored[0].path


async def test_missing_scope_is_a_config_error_naming_it(sim: FeishuSimulator) -> None:
    sim.revoke_scope("calendar:calendar:readonly")
    async with make_connector(sim) as feishu:
        with pytest.raises(AuthError, match="calendar:calendar:readonly") as caught:
            await read_all(feishu.stream("events"))
        assert caught.value.who.value == "config"
        result = await feishu.check()
    assert not result.ok
    assert any("calendar:calendar:readonly" in line for line in result.details)


async def test_tasks_refetch_only_what_changed_and_report_deletions(sim: FeishuSimulator) -> None:
    async with make_connector(sim) as feishu:
        stream = feishu.stream("tasks")
        _, cursor = await read_all(stream)
        changed, removed = list(sim.state.tasks)[:2]
        sim.update_task(changed, summary="Review budget forecast (v2)")
        sim.delete_task(removed)
        sim.reset_calls()
        pages, _ = await read_all(stream, cursor)
    assert [t.title for t in entities(stream, pages)] == ["Review budget forecast (v2)"]
    assert sim.count("/open-apis/task/v2/tasks/") == 1
    assert [d for p in pages for d in p.deleted] == [removed]


async def test_approvals_follow_pending_instances(sim: FeishuSimulator) -> None:
    async with make_connector(sim) as feishu:
        stream = feishu.stream("approvals")
        first, cursor = await read_all(stream)
        found = {e.source.external_id: e for e in entities(stream, first)}
        room_booking = next(e for e in found.values() if isinstance(e, Booking) and e.status.value == "requested")
        code = room_booking.source.external_id.split(":", 1)[1]
        sim.set_instance_status(code, "APPROVED")
        second, _ = await read_all(stream, cursor)
    updated = {e.source.external_id: e for e in entities(stream, second)}
    assert updated[room_booking.source.external_id].status.value == "confirmed"
    assert any(isinstance(e, Task) for e in found.values())


async def test_room_freebusy_blocks_and_their_removal(sim: FeishuSimulator) -> None:
    room = sim.state.rooms[0]["room_id"]
    calendar = sim.state.room_calendar[room]
    begin = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    event_id = sim.add_event(calendar, summary="Vendor demo", start=begin, end=begin + timedelta(hours=1), rooms=[room])
    async with make_connector(sim, freebusy_room_ids=[room], streams=["room_freebusy"]) as feishu:
        stream = feishu.stream("room_freebusy")
        pages, cursor = await read_all(stream)
        blocks = entities(stream, pages)
        assert any(b.start == begin and b.resource_id == room for b in blocks)
        sim.cancel_event(event_id)
        pages, _ = await read_all(stream, cursor)
    assert any(d.startswith(f"freebusy:{room}:{int(begin.timestamp())}") for p in pages for d in p.deleted)


async def test_targeted_re_pulls(sim: FeishuSimulator) -> None:
    guid = next(iter(sim.state.tasks))
    instance = next(iter(sim.state.instances))
    user = next(iter(sim.state.users))
    async with make_connector(sim) as feishu:
        tasks = feishu.stream("tasks")
        pages = [p async for p in tasks.fetch([guid, f"approval:{instance}", "missing-guid"])]
        kinds = [type(e).__name__ for p in pages for r in p.records for e in tasks.normalize(r)]
        users = [p async for p in feishu.stream("users").fetch([user])]
    assert sorted(kinds) in (["Booking", "Task"], ["Task", "Task"])
    assert [d for p in pages for d in p.deleted] == ["missing-guid"]
    assert users[0].records[0]["open_id"] == user
