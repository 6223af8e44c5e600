"""Receivers' duty: card items carry ack ids; late ones are listed for the provider and the office."""

from __future__ import annotations

from collabhub.rules import RulesEngine
from collabhub.rules.acks import ack_id, ack_id_of
from rules.helpers import fake_connectors, make_config, put, task

ACK = {
    "name": "eng-to-sales", "provider": "eng", "provider_chats": {"feishu": "oc_eng"}, "lang": "en",
    "receivers": [{"department": "sales", "chats": {"feishu": "oc_sales"}}],
    "what": {"kinds": ["task"]}, "fields": ["title"], "deliver": [{"channel": "card"}],
    "ack": {"deadline_hours": 24},
}


async def cycle(engine, remote):
    planned = engine.plan()
    await engine.dispatch(fake_connectors(remote))
    return planned


def card(remote, chat):
    found = [o for o in remote.of("card") if o["target"] == {"chat_id": chat}]
    return found[0] if found else None


def lines(obj, heading):
    return [i for s in obj["content"]["sections"] if s["heading"] == heading for i in s["items"]]


async def test_unacknowledged_items_are_listed_for_provider_and_office(store, clock, remote):
    put(store, task(external_id="T1", title="Sign the contract"), task(external_id="T2", title="Read the memo"))
    engine = RulesEngine(make_config([ACK]), store, clock=clock)
    await cycle(engine, remote)
    sales = card(remote, "oc_sales")
    pending = lines(sales, "Awaiting acknowledgement")
    assert {i["ack_id"] for i in pending} == {ack_id("eng-to-sales", "department:sales", ("jira", "task", "T1")),
                                              ack_id("eng-to-sales", "department:sales", ("jira", "task", "T2"))}
    assert card(remote, "oc_eng") is None and card(remote, "oc_office") is None  # nothing late yet

    # sales acknowledges T1 on the card (the connector's webhook records the event)
    store.record_event("feishu", "ack", {"value": {"ack_id": ack_id("eng-to-sales", "department:sales",
                                                                    ("jira", "task", "T1"))}})
    clock.advance(hours=25)
    await cycle(engine, remote)
    provider, office = card(remote, "oc_eng"), card(remote, "oc_office")
    for obj in (provider, office):
        (late,) = lines(obj, "Awaiting acknowledgement")
        assert late["text"].startswith("Read the memo") and "Sales has not acknowledged (25 h)" in late["text"]
        assert "ack_id" not in late  # only the receiver acknowledges
    sales = card(remote, "oc_sales")
    assert sales["edits"] == 1 and [i["text"].split(" · ")[0] for i in lines(sales, "Awaiting acknowledgement")] \
        == ["Read the memo"]

    clock.advance(hours=1)
    assert (await cycle(engine, remote)).planned == 0  # nothing new: nothing sent


def test_ack_id_in_payload():
    assert ack_id_of({"ack_id": "abc"}) == "abc"
    assert ack_id_of({"value": {"ack_id": "abc"}}) == "abc"
    assert ack_id_of({"event": {"action": {"value": {"ack_id": "abc"}}}}) == "abc"  # a Feishu card action
    assert ack_id_of({"other": 1}) is None
