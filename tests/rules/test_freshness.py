"""Freshness: a breach reminds the provider's owner, then escalates to the office, each once."""

from __future__ import annotations

from datetime import timedelta

from collabhub.model import StatusCategory
from collabhub.rules import RulesEngine
from rules.helpers import T0, fake_connectors, make_config, put, task

FRESH = {
    "name": "eng-weekly",
    "provider": "eng",
    "provider_chats": {"feishu": "oc_eng"},
    "receivers": ["sales"],
    "what": {"kinds": ["task"]},
    "fields": ["title"],
    "deliver": [{"channel": "task", "connector": "jira"}],
    "freshness": {"max_age_days": 7, "escalate_after_days": 3,
                  "remind": [{"channel": "card"}, {"channel": "task", "connector": "jira", "project": "ENG"}]},
    "lang": "en",
}


def cards(remote, chat):
    return [o for o in remote.of("card") if o["target"] == {"chat_id": chat}]


async def cycle(engine, remote):
    planned = engine.plan()
    await engine.dispatch(fake_connectors(remote))
    return planned


async def test_breach_reminds_then_escalates_each_once(store, clock, remote):
    put(store, task(external_id="T1", title="Budget", updated=T0))
    engine = RulesEngine(make_config([FRESH]), store, clock=clock)
    await cycle(engine, remote)
    assert cards(remote, "oc_eng") == []

    clock.advance(days=7, hours=1)  # breach: reminder to the provider (card + task for the owner)
    planned = await cycle(engine, remote)
    assert (planned.reminders, planned.escalations) == (2, 0)
    (reminder,) = cards(remote, "oc_eng")
    assert reminder["content"]["title"] == "Please update the shared item: Budget"
    assert "eng.lead@example.com" in reminder["content"]["summary"]
    owner_tasks = [o for o in remote.of("task") if o["target"].get("project") == "ENG"]
    assert len(owner_tasks) == 1 and owner_tasks[0]["target"]["assignee"] == {"email": "eng.lead@example.com"}

    clock.advance(days=1)
    assert (await cycle(engine, remote)).planned == 0  # reminded once
    assert cards(remote, "oc_office") == []

    clock.advance(days=2)  # three days after the breach began: escalate to the coordination office
    planned = await cycle(engine, remote)
    assert (planned.reminders, planned.escalations) == (0, 1)
    (escalation,) = cards(remote, "oc_office")
    assert escalation["content"]["title"] == "Escalation: stale shared item: Budget"

    clock.advance(days=1)
    assert (await cycle(engine, remote)).planned == 0  # escalated once
    assert len(cards(remote, "oc_eng")) == 1 and len(cards(remote, "oc_office")) == 1


async def test_an_update_starts_a_new_period(store, clock, remote):
    put(store, task(external_id="T1", title="Budget", updated=T0))
    engine = RulesEngine(make_config([FRESH]), store, clock=clock)
    clock.advance(days=8)
    await cycle(engine, remote)
    assert len(cards(remote, "oc_eng")) == 1
    put(store, task(external_id="T1", title="Budget", updated=clock.now))  # the provider updates it
    clock.advance(days=2)
    assert (await cycle(engine, remote)).reminders == 0
    clock.advance(days=6)  # stale again: a new breach period, a new reminder (a new message)
    assert (await cycle(engine, remote)).reminders == 2
    assert len(cards(remote, "oc_eng")) == 2


async def test_done_items_never_breach(store, clock, remote):
    put(store, task(external_id="T1", status=StatusCategory.DONE, updated=T0 - timedelta(days=90)))
    engine = RulesEngine(make_config([FRESH]), store, clock=clock)
    assert (await cycle(engine, remote)).reminders == 0


async def test_confidential_items_are_not_listed(store, clock, remote):
    put(store, task(external_id="T1", title="Secret", confidential=True, updated=T0 - timedelta(days=90)))
    engine = RulesEngine(make_config([FRESH]), store, clock=clock)
    await cycle(engine, remote)
    assert "Secret" not in str([o["content"] for o in remote.objects.values()])


async def test_items_breaching_together_share_one_reminder(store, clock, remote):
    put(store, task(external_id="T1", title="Budget", updated=T0), task(external_id="T2", title="Plan", updated=T0),
        task(external_id="T3", title="Later", updated=T0 + timedelta(days=2)))
    rule = {**FRESH, "freshness": {"max_age_days": 7, "escalate_after_days": 3}}
    engine = RulesEngine(make_config([rule]), store, clock=clock)
    clock.advance(days=8)
    await cycle(engine, remote)
    (first,) = cards(remote, "oc_eng")
    assert first["content"]["title"] == "Please update 2 shared items"
    assert [i["text"].split(" · ")[0] for i in first["content"]["sections"][0]["items"]] == ["Budget", "Plan"]
    clock.advance(days=2)  # T3 breaches now; T1 and T2 are escalated (3 days on)
    await cycle(engine, remote)
    second = cards(remote, "oc_eng")[1]
    assert [i["text"].split(" · ")[0] for i in second["content"]["sections"][0]["items"]] == ["Later"]
    (escalation,) = cards(remote, "oc_office")
    assert escalation["content"]["title"] == "Escalation: 2 stale shared items"
    row = next(d for d in store.deliveries() if d.detail.get("kind") == "escalation")
    assert len(row.detail["breaches"]) == 2


async def test_reminders_wait_for_the_end_of_quiet_hours(store, clock, remote):
    put(store, task(external_id="T1", title="Budget", updated=T0))
    rule = {**FRESH, "schedule": {"quiet_hours": "09:00-12:00"}}  # the clock reads 10:00 in Shanghai
    engine = RulesEngine(make_config([rule]), store, clock=clock)
    clock.advance(days=8)
    assert (await cycle(engine, remote)).reminders == 0
    clock.advance(hours=2)
    assert (await cycle(engine, remote)).reminders == 2
