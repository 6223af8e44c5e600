"""Every line a receiver gets is rendered from that receiver's own guarded view (``Sight``).

Regression for a leak the property test found: a digest listed a stale item with the view of the
rule asking for freshness, so a receiver whose own rule withheld the title saw it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from collabhub.model import Visibility
from collabhub.rules import RulesEngine
from collabhub.rules.guard import Sight, share
from rules.helpers import T0, fake_connectors, make_config, meeting, put, task

SALES_DUE = {
    "name": "eng-due", "provider": "eng", "provider_chats": {"feishu": "oc_eng"}, "lang": "en",
    "receivers": [{"department": "sales", "chats": {"feishu": "oc_sales"}, "lang": "en"}],
    "what": {"kinds": ["task"]}, "fields": ["due"], "deliver": [{"channel": "card"}],
    "freshness": {"max_age_days": 7, "escalate_after_days": 3},
}
ALICE_TITLE = {
    "name": "eng-titles", "provider": "eng", "provider_chats": {"feishu": "oc_eng"}, "lang": "en",
    "receivers": [{"person": "alice@example.com", "chats": {"feishu": "oc_alice"}, "lang": "en"}],
    "what": {"kinds": ["task"]}, "fields": ["title", "url"], "deliver": [{"channel": "card"}],
    "freshness": {"max_age_days": 7, "escalate_after_days": 3},
}


@dataclass(frozen=True)
class _Rule:
    name: str
    duty_receivers: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Receiver:
    key: str


@dataclass(frozen=True)
class _Share:
    rule: _Rule
    receiver: _Receiver
    view: object


def test_a_receiver_sees_only_the_views_granted_to_it():
    entity = task(title="Budget", description="Numbers", due=date(2024, 5, 1))
    narrow, wide = share(entity, ["due"]), share(entity, ["title", "description"])
    sight = Sight.of([_Share(_Rule("narrow"), _Receiver("department:sales"), narrow),
                      _Share(_Rule("wide", ("provider:eng", "office")), _Receiver("person:alice"), wide)])
    assert dict(sight.view("department:sales").fields) == {"due": "2024-05-01"}
    assert dict(sight.view("person:alice").fields) == {"title": "Budget", "description": "Numbers"}
    assert dict(sight.view("office").fields) == {"title": "Budget", "description": "Numbers"}  # duty grant
    assert sight.view("office", rules=("narrow",)) is None
    assert sight.view("project:apollo") is None
    assert sight.rules("department:sales") == {"narrow"} and sight.rules("provider:eng") == {"wide"}


def test_a_confidential_item_stays_free_busy_for_a_rule_without_a_reason():
    entity = meeting(title="Board", visibility=Visibility.PRIVATE)
    lifted = share(entity, ["title"], allow_confidential_reason="the board asked")
    busy = share(entity, ["title"])
    sight = Sight.of([_Share(_Rule("lifted", ("office",)), _Receiver("department:sales"), lifted),
                      _Share(_Rule("busy"), _Receiver("person:alice"), busy)])
    assert sight.view("person:alice").free_busy and "title" not in sight.view("person:alice").fields
    assert sight.view("office").get("title") == "Board"


async def cycle(engine, remote):
    planned = engine.plan()
    await engine.dispatch(fake_connectors(remote))
    return planned


def card(remote, chat, title_part=""):
    found = [o for o in remote.of("card") if o["target"] == {"chat_id": chat} and title_part in o["content"]["title"]]
    assert len(found) == 1, found
    return found[0]


def lines(obj, heading):
    return [i["text"] for s in obj["content"]["sections"] if s["heading"] == heading for i in s["items"]]


async def test_stale_lines_and_reminders_show_only_what_their_receiver_may_see(store, clock, remote):
    put(store, task(external_id="T1", title="Secret budget", due=date(2024, 5, 20), updated=T0))
    engine = RulesEngine(make_config([SALES_DUE, ALICE_TITLE]), store, clock=clock)
    await cycle(engine, remote)
    clock.advance(days=7, hours=1)  # both rules' shares go stale
    await cycle(engine, remote)

    sales = card(remote, "oc_sales")
    assert "Secret budget" not in str(sales["content"]) and "https://x/T1" not in str(sales["content"])
    assert lines(sales, "Stale shares") == ["Shared item (details withheld) · due 2024-05-20 · not updated for 7 days"]
    alice = card(remote, "oc_alice")
    assert [t.split(" · ")[0] for t in lines(alice, "Stale shares")] == ["Secret budget"]

    # the provider is reminded per rule, each reminder showing what that rule shares
    withheld = card(remote, "oc_eng", "Please update 1 shared item (details withheld)")
    assert "Secret budget" not in str(withheld["content"])
    titled = card(remote, "oc_eng", "Please update the shared item: Secret budget")
    assert lines(titled, "Stale shares") == ["Secret budget · not updated for 7 days"]
