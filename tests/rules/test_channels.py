"""Per-item channels in the neutral payload shapes of docs/plugins/channels.md."""

from __future__ import annotations

from datetime import date

from collabhub.model import Visibility
from collabhub.rules import RulesEngine
from rules.helpers import fake_connectors, make_config, meeting, put, task


def rule(**over):
    base = {"name": "r", "provider": "eng", "receivers": ["sales"], "what": {"kinds": ["task"]},
            "fields": ["title", "due", "status_category", "labels", "description"], "lang": "en"}
    return {**base, **over}


async def run(store, clock, remote, rules, *entities):
    put(store, *entities)
    engine = RulesEngine(make_config(rules), store, clock=clock)
    result = engine.plan()
    await engine.dispatch(fake_connectors(remote))
    return result


async def test_task_channel(store, clock, remote):
    await run(store, clock, remote,
              [rule(deliver=[{"channel": "task", "connector": "feishu", "tasklist": "tl-1"}])],
              task(external_id="T1", title="Ship", due=date(2024, 5, 9), labels=["x"], description="Notes"))
    (obj,) = remote.of("task")
    assert obj["target"] == {"assignee": {"email": "sales.lead@example.com"}, "tasklist": "tl-1"}
    content = obj["content"]
    assert content["title"] == "Ship" and content["due"] == "2024-05-09" and content["status_category"] == "todo"
    assert content["labels"] == ["collabhub", "x"]
    assert content["description"].startswith("Notes") and "Shared by collabhub rule 'r' from Engineering." \
        in content["description"]


async def test_event_channel_and_free_busy(store, clock, remote):
    r = rule(what={"kinds": ["meeting"]}, fields=["title", "start", "end", "location", "body"],
             deliver=[{"channel": "event", "connector": "m365", "mailbox": "sales-cal@example.com"}])
    normal = meeting(external_id="M1", title="Review", location="Room 1", body="agenda")
    private = meeting(external_id="M2", title="Layoffs", visibility=Visibility.PRIVATE, location="Room 9",
                      body="secret")
    await run(store, clock, remote, [r], normal, private)
    by_title = {o["content"]["title"]: o for o in remote.of("event")}
    review = by_title["Review"]
    assert review["target"] == {"mailbox": "sales-cal@example.com"}
    assert review["content"]["attendees"] == ["sales.lead@example.com"]
    assert review["content"]["location"] == "Room 1" and review["content"]["timezone"] == "Asia/Shanghai"
    busy = by_title["Busy"]
    assert set(busy["content"]) == {"title", "start", "end", "timezone", "attendees"}
    assert "Layoffs" not in str(remote.objects) and "Room 9" not in str(remote.objects)


async def test_comment_channel_targets_the_issue_itself_or_the_epic(store, clock, remote):
    r = rule(deliver=[{"channel": "comment", "connector": "jira"}])
    await run(store, clock, remote, [r],
              task(external_id="ENG-7", title="From Jira", connector="jira"),
              task(external_id="fs-1", title="From Feishu", connector="feishu", project="apollo"),
              task(external_id="fs-2", title="Nowhere", connector="feishu"))
    by_issue = {o["target"]["issue"]: o["content"]["body"] for o in remote.of("comment")}
    assert set(by_issue) == {"ENG-7", "APO-1"}
    assert "**From Jira**" in by_issue["ENG-7"] and "**From Feishu**" in by_issue["APO-1"]


async def test_booking_channel(store, clock, remote):
    r = rule(what={"kinds": ["meeting"]}, fields=["title", "start", "end"],
             deliver=[{"channel": "booking", "connector": "m365", "room": "room-a@example.com"}])
    await run(store, clock, remote, [r], meeting(external_id="M1", title="Offsite"))
    (obj,) = remote.of("booking")
    assert obj["content"]["room"] == "room-a@example.com" and obj["content"]["title"] == "Offsite"
    assert obj["target"] == {"mailbox": "sales.lead@example.com"}


async def test_two_rules_one_receiver_one_object(store, clock, remote):
    a = rule(name="a", fields=["title"], deliver=[{"channel": "task", "connector": "jira"}])
    b = rule(name="b", fields=["due"], deliver=[{"channel": "task", "connector": "jira"}])
    result = await run(store, clock, remote, [a, b], task(external_id="T1", title="Both", due=date(2024, 5, 9)))
    assert result.items == 1
    (obj,) = remote.of("task")
    assert obj["content"]["title"] == "Both" and obj["content"]["due"] == "2024-05-09"
    (row,) = store.deliveries()
    assert row.detail["rules"] == ["a", "b"] and row.fields_sent == ["due", "title"]


async def test_a_new_rule_backfills_existing_entities(store, clock, remote):
    put(store, task(external_id="T1", title="Old"))
    engine = RulesEngine(make_config([]), store, clock=clock)
    engine.plan()  # no rules: the change checkpoint moves past T1
    r = rule(deliver=[{"channel": "task", "connector": "jira"}])
    engine = RulesEngine(make_config([r]), store, clock=clock)
    assert engine.plan().items == 1
    assert engine.plan().items == 0


async def test_editing_a_rule_resends_the_new_view_in_place(store, clock, remote):
    r = rule(fields=["title"], deliver=[{"channel": "task", "connector": "jira"}])
    await run(store, clock, remote, [r], task(external_id="T1", title="Plan", due=date(2024, 5, 9)))
    engine = RulesEngine(make_config([{**r, "fields": ["title", "due"]}]), store, clock=clock)
    assert engine.plan().items == 1
    await engine.dispatch(fake_connectors(remote))
    (obj,) = remote.of("task")
    assert obj["edits"] == 1 and obj["content"]["due"] == "2024-05-09"
