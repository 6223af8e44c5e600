"""Outbox: idempotent enqueue, the claim/fail/park lifecycle, concurrent claimers, audit, links."""

from __future__ import annotations

import threading
from datetime import timedelta

from collabhub.model import EntityKind, Link
from collabhub.store import OutboxItem, Store

from .helpers import T0, Clock


def item(key: str, **kw) -> OutboxItem:
    kw.setdefault("rule", "pm-sees-rnd")
    kw.setdefault("receiver", "alice")
    return OutboxItem(
        idempotency_key=key, target_connector="feishu", channel="card", target={"chat": "oc_1"},
        content={"title": key}, entity_connector="jira", entity_kind="task", entity_external_id="A-1",
        entity_version=2, **kw,
    )


def test_enqueue_is_idempotent(store: Store) -> None:
    assert store.enqueue([item("k1"), item("k2"), item("k1")]) == 2
    assert store.enqueue([item("k2"), item("k3")]) == 1
    assert store.enqueue([]) == 0
    assert store.outbox_counts() == {"pending": 3, "sending": 0, "done": 0, "parked": 0}
    rows = store.outbox_rows()
    assert [r.idempotency_key for r in rows] == ["k1", "k2", "k3"]
    assert rows[0].target == {"chat": "oc_1"} and rows[0].next_attempt_at == T0


def test_claim_fail_retry_park_requeue_lifecycle(store: Store, clock: Clock) -> None:
    store.enqueue([item("k1"), item("later", not_before=T0 + timedelta(hours=1))])

    claimed = store.claim_due(now=T0, owner="w1")
    assert [(r.idempotency_key, r.status, r.attempts, r.lease_owner) for r in claimed] == [("k1", "sending", 1, "w1")]
    assert store.claim_due(now=T0, owner="w2") == []  # leased, and the other one is not due yet

    store.mark_failed(claimed[0].id, error="HTTP 503", next_attempt_at=T0 + timedelta(minutes=5))
    row = store.outbox_rows(status="pending")[0]
    assert (row.idempotency_key, row.last_error, row.lease_until) == ("k1", "HTTP 503", None)
    assert store.claim_due(now=T0 + timedelta(minutes=4)) == []

    again = store.claim_due(now=T0 + timedelta(minutes=5))
    assert [(r.idempotency_key, r.attempts) for r in again] == [("k1", 2)]
    store.park(again[0].id, error="gave up after 2 attempts")
    assert store.outbox_counts()["parked"] == 1
    assert store.claim_due(now=T0 + timedelta(days=1), limit=10)[0].idempotency_key == "later"

    clock.advance(3600 * 24)
    assert store.requeue_parked() == 1
    requeued = store.outbox_rows(status="pending")[0]
    assert (requeued.attempts, requeued.next_attempt_at) == (0, clock())
    assert store.requeue_parked(requeued.id) == 0


def test_expired_lease_is_claimed_again(store: Store) -> None:
    store.enqueue([item("k1")])
    first = store.claim_due(now=T0, lease_seconds=60, owner="dead-worker")
    assert len(first) == 1
    assert store.claim_due(now=T0 + timedelta(seconds=59), owner="w2") == []
    retaken = store.claim_due(now=T0 + timedelta(seconds=60), owner="w2")
    assert [(r.id, r.attempts, r.lease_owner) for r in retaken] == [(first[0].id, 2, "w2")]


def test_claim_limit_and_order(store: Store) -> None:
    store.enqueue([item(f"k{i}", not_before=T0 - timedelta(minutes=i)) for i in range(5)])
    claimed = store.claim_due(now=T0, limit=2)
    assert [r.idempotency_key for r in claimed] == ["k4", "k3"]  # oldest due first


def test_two_claimers_never_get_the_same_row(store_url: str, store: Store) -> None:
    store.enqueue([item(f"k{i}") for i in range(60)])
    others = [Store(store_url), Store(store_url)]
    got: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def work(index: int) -> None:
        start.wait()
        while rows := others[index].claim_due(now=T0 + timedelta(seconds=1), limit=7, owner=f"w{index}"):
            got[index].extend(r.id for r in rows)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in others:
        s.dispose()
    claimed = got[0] + got[1]
    assert len(claimed) == len(set(claimed)) == 60


def test_mark_sent_writes_the_delivery_audit(store: Store, clock: Clock) -> None:
    store.enqueue([item("k1"), item("k2", rule="other", receiver="bob")])
    rows = store.claim_due(now=T0)
    clock.advance(10)
    store.mark_sent(rows[0].id, external_id="msg_1", url="https://example.test/m/1", fields_sent=["title", "due"],
                    detail={"card": "v1"})
    store.mark_sent(rows[1].id, external_id="msg_2", url=None, fields_sent=["title"])
    assert store.outbox_counts()["done"] == 2
    done = store.outbox_rows(status="done")[0]
    assert (done.external_id, done.url) == ("msg_1", "https://example.test/m/1")

    audit = store.deliveries(rule="pm-sees-rnd")
    assert len(audit) == 1
    d = audit[0]
    assert (d.receiver, d.entity_external_id, d.entity_version, d.channel, d.target_connector) == (
        "alice", "A-1", 2, "card", "feishu")
    assert (d.target_external_id, d.fields_sent, d.detail, d.at) == ("msg_1", ["title", "due"], {"card": "v1"}, clock())
    assert [x.receiver for x in store.deliveries()] == ["bob", "alice"]  # newest first
    assert store.deliveries(receiver="bob")[0].target_external_id == "msg_2"
    assert store.deliveries(since=clock() + timedelta(seconds=1)) == []


def test_links_upsert_and_lookups(store: Store, clock: Clock) -> None:
    link = Link(entity_connector="jira", entity_kind=EntityKind.TASK, entity_external_id="A-1",
                target_connector="feishu", channel="task", receiver="alice", target_external_id="fs-1",
                fingerprint="f1")
    store.upsert_link(link)
    key = {"entity_connector": "jira", "entity_kind": "task", "entity_external_id": "A-1",
           "target_connector": "feishu", "channel": "task"}
    assert store.get_link(**key) is None  # receiver "" is another link
    got = store.get_link(**key, receiver="alice")
    assert (got.target_external_id, got.fingerprint, got.created) == ("fs-1", "f1", T0)

    clock.advance(60)
    store.upsert_link(link.model_copy(update={"target_external_id": "fs-2", "fingerprint": "f2"}))
    got = store.get_link(**key, receiver="alice")
    assert (got.target_external_id, got.fingerprint, got.updated) == ("fs-2", "f2", clock())
    assert store.link_for_target("feishu", "fs-2").entity_external_id == "A-1"
    assert store.link_for_target("feishu", "fs-1") is None
    assert [x.target_external_id for x in store.links_for_receiver("feishu", "task", "alice")] == ["fs-2"]
