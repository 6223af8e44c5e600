"""Streams against the simulator over loopback: full and incremental reads, faults, quota, crash resume."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from collabhub.connector import Stream
from collabhub.errors import QuotaExhaustedError
from collabhub.model import Entity, EntityKind, content_hash
from collabhub.testing.company import Company
from collabhub.testing.sims.dingtalk import APPROVAL_GENERAL, DingTalkSimulator

from .conftest import make_connector


async def read(stream: Stream, cursor: Mapping[str, Any] | None = None, *, stop_after: int | None = None,
               ) -> tuple[list[Entity], Mapping[str, Any] | None, int]:
    """Entities of a read, the cursor of the last page taken, and the number of pages taken."""
    entities: list[Entity] = []
    last, pages = cursor, 0
    gen = stream.read(cursor)
    async for page in gen:
        for record in page.records:
            entities.extend(stream.normalize(record))
        if page.cursor is not None:
            last = page.cursor
        pages += 1
        if stop_after is not None and pages >= stop_after:
            await gen.aclose()  # type: ignore[attr-defined]
            break
    return entities, last, pages


def by_key(entities: list[Entity]) -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    for entity in entities:
        out[entity.key] = content_hash(entity)
    return out


async def test_full_read_covers_the_sample_company(sim: DingTalkSimulator, company: Company) -> None:
    async with make_connector(sim) as connector:
        everything: list[Entity] = []
        for stream in connector.streams():
            everything.extend((await read(stream))[0])
    kinds: dict[str, set[str]] = {}
    for entity in everything:
        kinds.setdefault(str(entity.kind), set()).add(entity.source.external_id)
    assert len(kinds["person"]) == len(company.people)
    assert len(kinds["department"]) == len(company.departments)
    assert len(kinds["resource"]) == len(company.rooms_in("dingtalk"))
    assert len(kinds["meeting"]) == len(company.meetings_in("dingtalk"))
    dingtalk_tasks = list(company.tasks_in("dingtalk"))
    approvals = {e.source.external_id for e in everything if "approval" in getattr(e, "labels", [])}
    assert len(kinds["task"]) == len(dingtalk_tasks) + len(approvals) and approvals
    meetings = [e for e in everything if e.kind is EntityKind.MEETING]
    private = [m for m in meetings if m.confidential]
    assert len(private) == sum(1 for m in company.meetings_in("dingtalk") if m.visibility == "private")
    recurring = [m for m in meetings if m.recurrence]  # type: ignore[attr-defined]
    assert recurring and all(m.recurrence.rule.endswith("COUNT=4") for m in recurring)  # type: ignore[attr-defined]
    emails = {e.email for e in everything if e.kind is EntityKind.PERSON}  # type: ignore[attr-defined]
    assert emails == {p.email for p in company.people}


async def test_incremental_read_returns_only_what_changed(sim: DingTalkSimulator) -> None:
    async with make_connector(sim) as connector:
        calendars = connector.stream("calendars")
        _, cursor, _ = await read(calendars)
        assert (await read(calendars, cursor))[0] == []
        renamed, cancelled = sorted(e for e in sim.state.events if not sim.state.events[e].get("recurrence"))[:2]
        sim.rename_event(renamed, "改期：周例会")
        sim.cancel_event(cancelled)
        changed, cursor, _ = await read(calendars, cursor)
        meetings = {e.source.external_id: e for e in changed if e.kind is EntityKind.MEETING}
        assert set(meetings) == {renamed, cancelled}
        assert meetings[renamed].title == "改期：周例会"  # type: ignore[attr-defined]
        assert meetings[cancelled].deleted
        assert (await read(calendars, cursor))[0] == []


async def test_qps_limits_mid_sync_are_waited_out(sim: DingTalkSimulator) -> None:
    async with make_connector(sim) as connector:
        clean = by_key((await read(connector.stream("calendars")))[0])
        users_clean = by_key((await read(connector.stream("users")))[0])
    sim.reset_calls()
    sim.faults.rate_limit(3, path=r"/calendars/primary/events")
    async with make_connector(sim) as connector:
        assert by_key((await read(connector.stream("calendars")))[0]) == clean
    assert sum(1 for c in sim.calls if c.status == 403) == 3
    sim.faults.rate_limit(2, path=r"/topapi/v2/user/list")
    async with make_connector(sim) as connector:
        assert by_key((await read(connector.stream("users")))[0]) == users_clean


async def test_ip_ban_and_expired_tokens_mid_sync(sim: DingTalkSimulator) -> None:
    async with make_connector(sim) as connector:
        clean = by_key((await read(connector.stream("todos")))[0])
    async with make_connector(sim) as connector:
        stream = connector.stream("todos")
        entities: list[Entity] = []
        pages = 0
        async for page in stream.read(None):
            pages += 1
            if pages == 3:
                sim.expire_tokens()
                sim.ip_ban(2, wait=0)
            for record in page.records:
                entities.extend(stream.normalize(record))
    assert by_key(entities) == clean


async def test_monthly_quota_stops_the_run_and_resumes_from_the_cursor(sim: DingTalkSimulator) -> None:
    async with make_connector(sim) as connector:
        clean = by_key((await read(connector.stream("calendars")))[0])
    sim.quota(12)
    committed: list[Entity] = []
    cursor: Mapping[str, Any] | None = None
    async with make_connector(sim) as connector:
        stream = connector.stream("calendars")
        with pytest.raises(QuotaExhaustedError) as raised:
            async for page in stream.read(None):
                for record in page.records:
                    committed.extend(stream.normalize(record))
                cursor = page.cursor  # what the engine commits with the page
    assert "monthly DingTalk API call quota" in str(raised.value) and "keeps its cursor" in str(raised.value)
    assert cursor is not None and len(committed) > 0
    sim.quota(None)  # the next month
    async with make_connector(sim) as connector:
        resumed, final, _ = await read(connector.stream("calendars"), cursor)
    first, second = by_key(committed), by_key(resumed)
    assert {**first, **second} == clean  # nothing lost
    assert all(first[k] == second[k] for k in first.keys() & second.keys())  # a repeat changes nothing
    async with make_connector(sim) as connector:
        assert (await read(connector.stream("calendars"), final))[0] == []


async def test_sync_token_resume_after_a_crash(sim: DingTalkSimulator) -> None:
    async with make_connector(sim) as connector:
        calendars = connector.stream("calendars")
        reference, cursor, _ = await read(calendars)
    # a crash in the middle of the first full read: restart from the last committed page
    async with make_connector(sim) as connector:
        part, crash_cursor, pages = await read(connector.stream("calendars"), stop_after=7)
    assert pages == 7
    async with make_connector(sim) as connector:
        rest, after, _ = await read(connector.stream("calendars"), crash_cursor)
    assert {**by_key(part), **by_key(rest)} == by_key(reference)
    assert set(after["users"]) == set(cursor["users"]) and all("sync" in s for s in after["users"].values())
    # changes, then a crash in the middle of the incremental run
    changed = sorted(sim.state.events)[:5]
    for event_id in changed:
        sim.rename_event(event_id, f"renamed {event_id}")
    async with make_connector(sim) as connector:
        part, crash_cursor, pages = await read(connector.stream("calendars"), after, stop_after=3)
    assert pages == 3 and len({e.source.external_id for e in part if e.kind is EntityKind.MEETING}) < len(changed)
    async with make_connector(sim) as connector:
        rest, final, _ = await read(connector.stream("calendars"), crash_cursor)
    seen = {e.source.external_id for e in part + rest if e.kind is EntityKind.MEETING}
    assert seen == set(changed)
    async with make_connector(sim) as connector:
        assert (await read(connector.stream("calendars"), final))[0] == []


async def test_an_expired_sync_token_rereads_that_calendar(sim: DingTalkSimulator) -> None:
    async with make_connector(sim) as connector:
        reference, cursor, _ = await read(connector.stream("calendars"))
        sim.expire_sync_tokens()
        again, cursor2, _ = await read(connector.stream("calendars"), cursor)
    assert by_key(again) == by_key(reference)
    assert all("sync" in s for s in cursor2["users"].values())


async def test_todos_detail_only_for_changed_cards(sim: DingTalkSimulator) -> None:
    async with make_connector(sim) as connector:
        todos = connector.stream("todos")
        first, cursor, _ = await read(todos)
        sim.reset_calls()
        assert (await read(todos, cursor))[0] == []
        assert sim.count("/v1.0/todo/users/", method="GET") == 0
        task_id = sorted(sim.state.todos)[0]
        owner = sim.state.todos[task_id]["creatorId"]
        await connector.call("PUT", connector.api(f"/v1.0/todo/users/{owner}/tasks/{task_id}"),
                             json={"subject": "changed subject", "done": True})
        changed, _, _ = await read(todos, cursor)
    assert [(t.source.external_id, t.title) for t in changed] == [(task_id, "changed subject")]  # type: ignore[attr-defined]
    assert len(first) == len({t.source.external_id for t in first})


async def test_running_approvals_are_seen_finishing(sim: DingTalkSimulator) -> None:
    async with make_connector(sim) as connector:
        stream = connector.stream("approval_tasks")
        first, cursor, _ = await read(stream)
        running = sorted(cursor["running"])
        assert running
        instance = sim.state.approvals[running[0]]
        assert instance["processCode"] == APPROVAL_GENERAL
        instance["result"].update(status="COMPLETED", result="agree", finishTime="2026-11-20T08:00Z")
        later, cursor2, _ = await read(stream, cursor)
    finished = {e.source.external_id: e for e in later}
    assert finished[running[0]].status_category.value == "done"  # type: ignore[attr-defined]
    assert running[0] not in cursor2["running"]
    assert len(first) == len({e.source.external_id for e in first})


async def test_targeted_refreshes_route_to_the_owning_stream(sim: DingTalkSimulator) -> None:
    event_id = sorted(sim.state.events)[0]
    owner = sim.state.events[event_id]["organizer"]["id"]
    approval = sorted(sim.state.approvals)[0]
    code = sim.state.approvals[approval]["processCode"]
    task_id = sorted(sim.state.todos)[0]
    async with make_connector(sim) as connector:
        todos = connector.stream("todos")
        pages = [p async for p in todos.fetch([f"todo:{task_id}", f"approval:{code}/{approval}"])]
        meetings = [p async for p in connector.stream("calendars").fetch([f"event:{owner}/{event_id}"])]
        users = [p async for p in connector.stream("users").fetch([f"user:{sim.company.people[3].dingtalk_userid}"])]
    ids = {r.get("id") or r.get("processInstanceId") for p in pages for r in p.records}
    assert task_id in ids
    assert [r["event"]["id"] for p in meetings for r in p.records] == [event_id]
    assert [r["unionid"] for p in users for r in p.records] == [sim.company.people[3].dingtalk_union_id]
