"""The dispatcher: made once after a timeout, backoff, parking, links and the audit."""

from __future__ import annotations

import httpx

from collabhub.errors import DeliveryError, WorkflowError
from collabhub.rules import RetryPolicy, RulesEngine
from rules.helpers import FakeConnector, Remote, fake_connectors, make_config, put, task

MIRROR = {
    "name": "mirror",
    "provider": "eng",
    "receivers": ["sales"],
    "what": {"kinds": ["task"]},
    "fields": ["title", "due"],
    "deliver": [{"channel": "task", "connector": "jira", "project": "SAL"}],
}


def engine_for(store, clock, **kw):
    return RulesEngine(make_config([MIRROR]), store, clock=clock, policy=RetryPolicy(max_attempts=3, **kw))


async def test_a_delivery_retried_after_a_timeout_is_made_once(store, clock, remote):
    put(store, task(external_id="T1", title="Ship"))
    engine = engine_for(store, clock)
    engine.plan()
    # the remote makes the object, then the answer is lost
    remote.fail_after_create.append(httpx.ReadTimeout("timed out"))
    first = await engine.dispatch(fake_connectors(remote))
    assert (first.sent, first.retried) == (0, 1)
    assert store.outbox_counts()["pending"] == 1

    assert (await engine.dispatch(fake_connectors(remote))).claimed == 0  # not due before the backoff
    clock.advance(seconds=31)
    second = await engine.dispatch(fake_connectors(remote))
    assert second.sent == 1
    assert len(remote.of("task")) == 1  # made once
    keys = {call.idempotency_key for call in remote.calls}
    assert len(remote.calls) == 2 and len(keys) == 1  # the retry carried the same idempotency key
    (row,) = store.deliveries()
    assert row.target_external_id == "task-1" and row.fields_sent == ["title"]
    assert store.outbox_counts()["done"] == 1


async def test_an_update_edits_the_linked_object(store, clock, remote):
    put(store, task(external_id="T1", title="v1"))
    engine = engine_for(store, clock)
    engine.plan()
    await engine.dispatch(fake_connectors(remote))
    put(store, task(external_id="T1", title="v2"))
    engine.plan()
    await engine.dispatch(fake_connectors(remote))
    (obj,) = remote.of("task")
    assert obj["content"]["title"] == "v2" and obj["edits"] == 1
    assert remote.calls[1].link is not None and remote.calls[1].link.target_external_id == "task-1"
    assert [d.entity_version for d in store.deliveries()] == [2, 1]


async def test_backoff_grows_then_the_delivery_is_parked(store, clock, remote):
    put(store, task(external_id="T1"))
    engine = engine_for(store, clock, base_seconds=10)
    engine.plan()
    waits = []
    for _ in range(3):
        remote.fail_next.append(DeliveryError("remote said 503"))
        result = await engine.dispatch(fake_connectors(remote))
        (row,) = store.outbox_rows()
        if row.status == "pending":
            waits.append((row.next_attempt_at - clock.now).total_seconds())
            clock.now = row.next_attempt_at
        assert result.claimed == 1
    assert waits == [10, 20]
    (row,) = store.outbox_rows()
    assert row.status == "parked" and "gave up after 3 attempts" in row.last_error
    assert remote.of("task") == []


async def test_retry_after_is_honoured(store, clock, remote):
    put(store, task(external_id="T1"))
    engine = engine_for(store, clock)
    engine.plan()
    remote.fail_next.append(DeliveryError("slow down", retry_after=600))
    await engine.dispatch(fake_connectors(remote))
    (row,) = store.outbox_rows()
    assert (row.next_attempt_at - clock.now).total_seconds() == 600


async def test_workflow_errors_are_parked_at_once(store, clock, remote):
    put(store, task(external_id="T1"))
    engine = engine_for(store, clock)
    engine.plan()
    remote.fail_next.append(WorkflowError("no transition to Done"))
    result = await engine.dispatch(fake_connectors(remote))
    assert result.parked == 1 and "no transition" in result.errors[0]
    assert store.outbox_rows()[0].status == "parked"


async def test_missing_connector_or_writer_parks_with_advice(store, clock):
    put(store, task(external_id="T1"))
    engine = engine_for(store, clock)
    engine.plan()
    result = await engine.dispatch({})
    assert result.parked == 1 and "not configured or not enabled" in result.errors[0]
    store.requeue_parked()

    class CardsOnly(FakeConnector):
        writer_classes = FakeConnector.writer_classes[:1]

    result = await engine.dispatch({"jira": CardsOnly("jira", Remote())})
    assert result.parked == 1 and "cannot write 'task'" in result.errors[0]


async def test_withdrawn_when_the_entity_turns_confidential(store, clock, remote):
    put(store, task(external_id="T1", title="Public"))
    engine = engine_for(store, clock)
    engine.plan()
    await engine.dispatch(fake_connectors(remote))
    put(store, task(external_id="T1", title="Now secret", confidential=True))
    planned = engine.plan()
    assert planned.withdrawals == 1
    await engine.dispatch(fake_connectors(remote))
    (obj,) = remote.of("task")
    assert obj["content"]["status_category"] == "done" and "secret" not in str(obj["content"])
    put(store, task(external_id="T1", title="Still secret", confidential=True))
    assert engine.plan().withdrawals == 0  # withdrawn once
