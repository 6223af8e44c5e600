"""``rules preview`` shows exactly what the next cycle delivers, as a diff, and writes nothing."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from collabhub.model import Visibility
from collabhub.rules import RulesEngine
from collabhub.rules.preview import preview, render_preview
from collabhub.store.schema import checkpoints, deliveries, links, outbox
from rules.helpers import T0, fake_connectors, make_config, meeting, put, task

RULES = [
    {"name": "eng-to-sales", "provider": "eng", "lang": "en",
     "receivers": [{"department": "sales", "chats": {"feishu": "oc_sales"}}, "project:apollo"],
     "what": {"kinds": ["task", "meeting"], "filter": 'kind == "meeting" || status_category != "done"'},
     "fields": ["title", "due", "status_category", "start", "end"],
     "deliver": [{"channel": "card"}, {"channel": "task", "connector": "jira", "project": "SAL"}],
     "ack": {"deadline_hours": 24}},
    {"name": "ops-freshness", "provider": "ops", "provider_chats": {"feishu": "oc_ops"}, "receivers": ["office"],
     "what": {"kinds": ["task"]}, "fields": ["title"], "deliver": [{"channel": "card"}],
     "freshness": {"max_age_days": 3, "escalate_after_days": 2}},
]


def table_counts(store):
    with store.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (outbox, deliveries, links, checkpoints)}


def seed(store):
    put(store,
        task(external_id="T1", title="Ship", due=date(2024, 5, 20), project="apollo"),
        task(external_id="T2", title="Late", due=date(2024, 5, 1)),
        task(external_id="T3", title="Hidden", confidential=True),
        meeting(external_id="M1", title="Review", project="apollo"),
        meeting(external_id="M2", title="Private", visibility=Visibility.PRIVATE),
        task(dept="ops", external_id="O1", title="Stale ops item", updated=T0 - timedelta(days=10)))


async def test_preview_equals_what_the_next_cycle_delivers(store, clock, remote):
    seed(store)
    engine = RulesEngine(make_config(RULES), store, clock=clock)
    before = table_counts(store)
    entries = preview(engine)
    assert table_counts(store) == before  # wrote nothing
    assert entries and {e.action for e in entries} == {"new"}

    engine.plan()
    await engine.dispatch(fake_connectors(remote))
    delivered = {d.idempotency_key: d.detail["content"] for d in store.deliveries(limit=1000)}
    assert {e.idempotency_key: e.content for e in entries} == delivered
    channels = sorted({(e.channel, e.receiver) for e in entries})
    assert ("card", "department:sales") in channels and ("card", "project:apollo") in channels
    assert ("task", "department:sales") in channels and ("card", "office") in channels

    assert preview(engine) == []  # up to date
    assert render_preview([]) == "Nothing to deliver: every receiver is up to date."


async def test_preview_diffs_against_what_the_receiver_has(store, clock, remote):
    seed(store)
    engine = RulesEngine(make_config(RULES), store, clock=clock)
    engine.plan()
    await engine.dispatch(fake_connectors(remote))
    clock.advance(hours=1)
    put(store, task(external_id="T1", title="Ship v2", due=date(2024, 5, 20), project="apollo"))

    entries = preview(engine, receiver="department:sales")
    assert {(e.channel, e.action) for e in entries} == {("task", "update"), ("card", "update")}
    task_entry = next(e for e in entries if e.channel == "task")
    assert "-title: Ship" in task_entry.diff and "+title: Ship v2" in task_entry.diff
    text = render_preview(entries)
    assert text.startswith("== department:sales (2 deliveries)") and "+title: Ship v2" in text

    keys = {e.idempotency_key for e in entries}
    engine.plan()
    await engine.dispatch(fake_connectors(remote))
    sent = {d.idempotency_key for d in store.deliveries(receiver="department:sales", limit=100)}
    assert keys <= sent and preview(engine, receiver="department:sales") == []


async def test_queued_retries_are_part_of_the_preview(store, clock, remote):
    seed(store)
    engine = RulesEngine(make_config(RULES), store, clock=clock)
    engine.plan()
    remote.fail_next.extend([TimeoutError("lost")] * 50)
    await engine.dispatch(fake_connectors(remote))
    clock.advance(minutes=5)
    entries = preview(engine)
    assert entries and {e.action for e in entries} == {"queued"}
