"""Change notifications: the validation handshake, clientState checks, 202-then-process, dedup,
lifecycle events, and subscription upkeep (create, renew at half-life, delete strays)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from collabhub.model import EntityKind
from collabhub.testing.sims.m365 import M365Simulator
from collabhub_m365.connector import M365Connector

Factory = Callable[..., M365Connector]
MAILBOXES = ["jing.xu000@example.com", "na.li001@example.com"]
SECRET = "a-long-client-state-secret-0123456789"


@pytest.fixture
def wired(connector_factory: Factory, hub_server: Any, sink: Any) -> Iterator[tuple[M365Connector, str]]:
    """A connector whose webhook app is served on loopback TLS at its notifications URL."""
    base, late = hub_server
    url = f"{base}m365/outlook"
    connector = connector_factory(mailboxes=MAILBOXES, group=None,
                                  notifications={"url": url, "client_state": SECRET, "lifetime_minutes": 4230})
    late.app = connector.webhook_app(sink)
    yield connector, url


def post(url: str, payload: Any, **params: str) -> httpx.Response:
    return httpx.post(url, content=json.dumps(payload).encode(), params=params, verify=False,
                      headers={"Content-Type": "application/json"})


async def test_validation_handshake_creates_one_subscription_per_mailbox(wired: Any, sim: M365Simulator,
                                                                         sink: Any) -> None:
    connector, url = wired
    await connector.maintain(sink)
    subs = sim.subscriptions()
    assert sorted(s["resource"] for s in subs) == sorted(f"/users/{m}/events" for m in MAILBOXES)
    assert all(s["notificationUrl"] == url and s["lifecycleNotificationUrl"] == url for s in subs)
    assert all(s["changeType"] == "created,updated,deleted" for s in subs)
    assert all(connector.subscriptions.verify(s["clientState"]) for s in subs)
    assert SECRET not in json.dumps(subs)  # only a derived HMAC travels
    await connector.maintain(sink)  # idempotent: nothing new
    assert len(sim.subscriptions()) == 2
    await connector.aclose()


def test_handshake_echoes_the_token_as_plain_text(wired: Any) -> None:
    _, url = wired
    token = "Validation: Testing client application reachability for subscription Request-Id: 42 & more"
    response = httpx.post(url, params={"validationToken": token}, verify=False)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == token


def test_wrong_client_state_is_rejected_and_nothing_recorded(wired: Any, sink: Any) -> None:
    _, url = wired
    forged = {"value": [{"subscriptionId": "s", "changeType": "created", "clientState": "deadbeef.forged",
                         "resource": "Users/u/Events/e", "resourceData": {"id": "e"}, "tenantId": "t"}]}
    response = post(url, forged)
    assert response.status_code == 403
    assert sink.calls == [] and sink.seen == set()


async def test_changes_are_acknowledged_then_queued_once(wired: Any, sim: M365Simulator, sink: Any) -> None:
    connector, _ = wired
    await connector.maintain(sink)
    made = sim.create_event(MAILBOXES[0], {"subject": "Hallway chat",
                                           "start": {"dateTime": "2026-11-20T06:00:00", "timeZone": "UTC"},
                                           "end": {"dateTime": "2026-11-20T06:30:00", "timeZone": "UTC"}})
    pending = sim.state.subscriptions.take_pending()
    ((target, notes),) = pending.items()
    assert sim.state.subscriptions.post(target, notes) == 202
    assert sim.state.subscriptions.post(target, notes) == 202  # Graph retried: a replay
    calls = sink.wait_for(1)
    assert calls == [("refresh", ("outlook", EntityKind.MEETING, (f"users/{MAILBOXES[0]}/events/{made['id']}",)))]
    pages = [p async for p in connector.stream("events").fetch([c[1][2][0] for c in calls])]
    assert [r["id"] for r in pages[0].records] == [made["id"]]
    sim.delete_event(MAILBOXES[0], made["id"])
    assert sim.flush_notifications() == [202]
    assert sink.wait_for(2)[1] == ("deleted", ("outlook", EntityKind.MEETING, (made["id"],)))
    await connector.aclose()


async def test_lifecycle_events(wired: Any, sim: M365Simulator, sink: Any) -> None:
    connector, _ = wired
    await connector.maintain(sink)
    by_mailbox = {s["resource"].split("/")[2]: s["id"] for s in sim.subscriptions()}
    assert sim.send_lifecycle(by_mailbox[MAILBOXES[0]], "missed") == 202
    assert sink.wait_for(1) == [("resync", ("outlook", "events", MAILBOXES[0]))]
    assert sim.send_lifecycle(by_mailbox[MAILBOXES[0]], "reauthorizationRequired") == 202
    assert sim.send_lifecycle(by_mailbox[MAILBOXES[1]], "subscriptionRemoved") == 202
    assert sink.wait_for(2)[1] == ("resync", ("outlook", "events", MAILBOXES[1]))
    subs = {s["resource"].split("/")[2]: s for s in sim.subscriptions()}
    assert subs[MAILBOXES[0]].get("reauthorized") == 1
    assert subs[MAILBOXES[1]]["id"] != by_mailbox[MAILBOXES[1]]  # subscribed again
    await connector.aclose()


async def test_upkeep_renews_at_half_life_and_drops_strays(wired: Any, sim: M365Simulator, sink: Any,
                                                           clock: Any, connector_factory: Factory) -> None:
    connector, url = wired
    await connector.maintain(sink)
    before = {s["id"]: s["expirationDateTime"] for s in sim.subscriptions()}
    clock.advance(minutes=1000)
    await connector.maintain(sink)  # less than half the lifetime used: no PATCH
    assert {s["id"]: s["expirationDateTime"] for s in sim.subscriptions()} == before
    clock.advance(minutes=1200)
    sim.reset_calls()
    await connector.maintain(sink)
    assert sim.count("/v1.0/subscriptions/", method="PATCH") == 2
    assert all(s["expirationDateTime"] > before[s["id"]] for s in sim.subscriptions())
    fewer = connector_factory(mailboxes=MAILBOXES[:1], group=None,
                              notifications={"url": url, "client_state": SECRET})
    await fewer.maintain(sink)
    assert [s["resource"] for s in sim.subscriptions()] == [f"/users/{MAILBOXES[0]}/events"]
    await connector.aclose()
    await fewer.aclose()


async def test_failed_handshake_is_reported_not_fatal(connector_factory: Factory, sim: M365Simulator,
                                                      sink: Any) -> None:
    connector = connector_factory(mailboxes=MAILBOXES[:1], group=None,
                                  notifications={"url": "https://127.0.0.1:9/nobody-listens", "client_state": SECRET})
    await connector.maintain(sink)  # the run goes on; the warning says why
    assert sim.subscriptions() == []
    await connector.aclose()
