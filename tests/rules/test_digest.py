"""Digests: edited in place, nothing sent when nothing changed, per-chat daily cap, schedule and quiet hours."""

from __future__ import annotations

from datetime import date

from collabhub.model import StatusCategory, Visibility
from collabhub.rules import RulesEngine
from rules.helpers import fake_connectors, make_config, meeting, put, task

DIGEST = {
    "name": "eng-status",
    "provider": "eng",
    "receivers": [{"department": "sales", "chats": {"feishu": "oc_sales"}, "lang": "en"}],
    "what": {"kinds": ["task", "meeting"]},
    "fields": ["title", "due", "status_category", "start", "end", "is_milestone", "labels"],
    "deliver": [{"channel": "card", "connector": "feishu", "daily_cap": 3}],
}


async def cycle(engine, remote):
    planned = engine.plan()
    await engine.dispatch(fake_connectors(remote))
    return planned


async def test_digest_is_edited_in_place(store, clock, remote):
    put(store, task(external_id="T1", title="Ship"))
    engine = RulesEngine(make_config([DIGEST]), store, clock=clock)
    await cycle(engine, remote)
    assert len(remote.of("card")) == 1

    clock.advance(hours=1)
    put(store, task(external_id="T1", title="Ship v2"))
    planned = await cycle(engine, remote)
    assert planned.digests == 1
    cards = remote.of("card")
    assert len(cards) == 1 and cards[0]["edits"] == 1  # one message, updated
    texts = [i["text"] for s in cards[0]["content"]["sections"] for i in s["items"]]
    assert any("Ship v2" in t for t in texts)
    links = store.links_for_receiver("feishu", "card", "department:sales")
    assert len(links) == 1 and links[0].entity_external_id == "digest:department:sales"
    assert len(store.deliveries(rule="digest")) == 2


async def test_nothing_is_sent_when_nothing_changed(store, clock, remote):
    put(store, task(external_id="T1"), meeting(external_id="M1"))
    engine = RulesEngine(make_config([DIGEST]), store, clock=clock)
    await cycle(engine, remote)
    before = len(store.deliveries(limit=1000))
    calls = len(remote.calls)

    clock.advance(minutes=30)
    put(store, task(external_id="T1"), meeting(external_id="M1"))  # same content: no change
    planned = await cycle(engine, remote)
    assert planned.planned == 0 and planned.enqueued == 0
    assert len(remote.calls) == calls and len(store.deliveries(limit=1000)) == before


async def test_an_invisible_change_sends_nothing(store, clock, remote):
    put(store, task(external_id="T1", description="v1"))
    engine = RulesEngine(make_config([DIGEST]), store, clock=clock)
    await cycle(engine, remote)
    clock.advance(minutes=5)
    put(store, task(external_id="T1", description="v2"))  # description is not shared
    assert (await cycle(engine, remote)).digests == 0


async def test_per_chat_daily_cap(store, clock, remote):
    engine = RulesEngine(make_config([DIGEST]), store, clock=clock)
    sent = []
    for n in range(5):
        put(store, task(external_id="T1", title=f"version {n}"))
        planned = await cycle(engine, remote)
        sent.append(planned.digests)
        clock.advance(minutes=10)
    assert sent == [1, 1, 1, 0, 0]  # cap of 3 messages per chat per day
    assert len(store.deliveries(rule="digest")) == 3
    clock.advance(days=1)  # a new local day: the held-back change goes out
    assert (await cycle(engine, remote)).digests == 1
    cards = remote.of("card")
    assert len(cards) == 1 and "version 4" in str(cards[0]["content"])


async def test_digest_sections_and_project_team(store, clock, remote):
    rule = {**DIGEST, "receivers": [{"project": "apollo", "lang": "en"}], "deliver": [{"channel": "card"}]}
    put(store,
        task(external_id="T1", title="Late one", due=date(2024, 5, 1), project="apollo"),
        task(external_id="T2", title="Launch", due=date(2024, 5, 10), is_milestone=True, project="apollo"),
        task(external_id="T3", title="Other project", project=None),
        task(external_id="T4", title="Done late", due=date(2024, 5, 1), status=StatusCategory.DONE, project="apollo"),
        meeting(external_id="M1", title="Kickoff", project="apollo"),
        meeting(external_id="M2", title="Board", visibility=Visibility.PRIVATE, project="apollo"))
    engine = RulesEngine(make_config([rule]), store, clock=clock)
    await cycle(engine, remote)
    (card,) = remote.of("card")
    assert card["target"] == {"chat_id": "oc_apollo"}
    content = card["content"]
    assert content["title"] == "Project status: Apollo"
    sections = {s["heading"]: [i["text"] for i in s["items"]] for s in content["sections"]}
    assert [t.split(" · ")[0] for t in sections["Overdue items"]] == ["Late one"]
    assert [t.split(" · ")[0] for t in sections["Upcoming milestones"]] == ["Launch"]
    assert sorted(t.split(" · ")[0] for t in sections["Upcoming meetings"]) == ["Busy", "Kickoff"]
    assert "Other project" not in str(content) and "Board" not in str(content)


async def test_quiet_hours_hold_the_digest_until_they_end(store, clock, remote):
    rule = {**DIGEST, "schedule": {"quiet_hours": "09:00-12:00"}}  # clock starts at 10:00 Shanghai
    put(store, task(external_id="T1"))
    engine = RulesEngine(make_config([rule]), store, clock=clock)
    planned = await cycle(engine, remote)
    assert planned.digests == 0 and planned.held == 1
    clock.advance(hours=2)
    assert (await cycle(engine, remote)).digests == 1


async def test_cron_schedule_batches_changes(store, clock, remote):
    rule = {**DIGEST, "schedule": "0 9 * * *"}  # daily at 09:00 Shanghai
    put(store, task(external_id="T1", title="first"))
    engine = RulesEngine(make_config([rule]), store, clock=clock)
    assert (await cycle(engine, remote)).digests == 1  # the first digest goes out at once
    for title in ("second", "third"):
        clock.advance(hours=2)
        put(store, task(external_id="T1", title=title))
        assert (await cycle(engine, remote)).digests == 0  # batched until the next tick
    clock.advance(hours=20)  # past 09:00 the next day
    assert (await cycle(engine, remote)).digests == 1
    assert "third" in str(remote.of("card")[0]["content"])


async def test_dingtalk_chats_are_robots(store, clock, remote):
    rule = {**DIGEST, "receivers": [{"department": "sales", "chats": {"dingtalk": "sales-robot"}}],
            "deliver": [{"channel": "card"}]}
    put(store, task(external_id="T1"))
    engine = RulesEngine(make_config([rule], connectors=("dingtalk",)), store, clock=clock)
    engine.plan()
    await engine.dispatch(fake_connectors(remote, "dingtalk"))
    assert remote.of("card")[0]["target"] == {"robot": "sales-robot"}
