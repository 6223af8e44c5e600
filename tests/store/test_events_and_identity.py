"""Webhook dedup, refresh requests, inbound events, and the identity tables."""

from __future__ import annotations

import pytest

from collabhub.store import Store

from .helpers import T0, Clock


def test_first_seen_dedups_until_the_ttl_passes(store: Store, clock: Clock) -> None:
    assert store.first_seen("feishu", "ev-1", ttl_seconds=600)
    assert not store.first_seen("feishu", "ev-1", ttl_seconds=600)
    assert store.first_seen("dingtalk", "ev-1", ttl_seconds=600)  # another source
    clock.advance(601)
    assert store.first_seen("feishu", "ev-1", ttl_seconds=600)  # expired, purged, new again
    assert not store.first_seen("feishu", "ev-1")


def test_refresh_requests_are_deduped_and_taken_once(store: Store) -> None:
    store.request_refresh("jira", "task", ["A-1", "A-2", "A-1"])
    store.request_refresh("jira", "task", ["A-2", "A-3"])
    store.request_refresh("m365", "meeting", ["M-1"])
    assert store.take_refresh_requests("jira", limit=2) == [("task", "A-1"), ("task", "A-2")]
    assert store.take_refresh_requests("jira") == [("task", "A-3")]
    assert store.take_refresh_requests("jira") == []
    assert store.take_refresh_requests("m365") == [("meeting", "M-1")]


def test_inbound_events(store: Store) -> None:
    store.record_event("feishu", "card.ack", {"user": "ou_1", "card": "c1"})
    store.record_event("dingtalk", "approval", {"id": "p1"})
    store.record_event("feishu", "card.ack", {"user": "ou_2", "card": "c1"})
    acks = store.events(event_type="card.ack")
    assert [e.payload["user"] for e in acks] == ["ou_1", "ou_2"]
    assert acks[0].at == T0 and acks[0].connector == "feishu"
    assert [e.event_type for e in store.events(after_id=acks[0].id)] == ["approval", "card.ack"]
    assert len(store.events(limit=1)) == 1


def test_people_and_identities(store: Store) -> None:
    alice = store.create_person("Alice", email="alice@example.com", mobile="+8613800000001", departments=["rnd"])
    bob = store.create_person("Bob", employee_id="E002")
    store.link_identity("jira", "acc-alice", alice, "email")
    store.link_identities([("feishu", "ou_a", alice, "mobile"), ("feishu", "ou_b", bob, "employee_id")])

    assert store.identities_for("feishu", ["ou_a", "ou_b", "ou_unknown"]) == {"ou_a": alice, "ou_b": bob}
    assert store.identities_for("jira", []) == {}
    assert store.identities_of(alice) == [("feishu", "ou_a", "mobile"), ("jira", "acc-alice", "email")]

    found = store.find_people(emails=["alice@example.com"], employee_ids=["E002"])
    assert [p.name for p in found] == ["Alice", "Bob"]
    assert store.find_people(mobiles=["+8613800000001"])[0].departments == ["rnd"]
    assert store.find_people() == []

    store.update_person(bob, email="bob@example.com", departments=["pmo", "rnd"])
    got = store.get_person(bob)
    assert (got.email, got.departments, got.employee_id) == ("bob@example.com", ["pmo", "rnd"], "E002")
    many = store.get_people([bob, alice, 999_999, alice])
    assert {pid: p.name for pid, p in many.items()} == {alice: "Alice", bob: "Bob"}
    assert store.get_people([]) == {}
    store.set_departments({alice: ["ops"], bob: []})
    assert [store.get_person(p).departments for p in (alice, bob)] == [["ops"], []]
    store.set_departments({})
    with pytest.raises(ValueError, match="unknown person fields"):
        store.update_person(bob, salary=1)
    assert store.get_person(999_999) is None

    store.link_identity("feishu", "ou_b", alice, "manual")  # re-linking moves the identity
    assert store.identities_for("feishu", ["ou_b"]) == {"ou_b": alice}
    assert [p.name for p in store.iter_people(batch_size=1)] == ["Alice", "Bob"]


def test_identity_review_list(store: Store, clock: Clock) -> None:
    store.add_review("jira", "acc-x", {"display_name": "X"}, "unmatched")
    clock.advance(60)
    store.add_review("jira", "acc-x", {"display_name": "X", "email": "x@example.com"}, "ambiguous", [1, 2])
    store.add_review("dingtalk", "u-9", {"display_name": "Nine"}, "unmatched")
    with pytest.raises(ValueError, match="review reason"):
        store.add_review("jira", "acc-y", {}, "guess")

    items = store.review_items()
    assert [(i.connector, i.external_id) for i in items] == [("jira", "acc-x"), ("dingtalk", "u-9")]
    x = items[0]
    assert (x.reason, x.candidates, x.first_seen, x.last_seen) == ("ambiguous", [1, 2], T0, clock())
    assert x.ref["email"] == "x@example.com"

    store.resolve_review("jira", "acc-x")
    assert [i.external_id for i in store.review_items()] == ["u-9"]
    assert len(store.review_items(include_resolved=True)) == 2
