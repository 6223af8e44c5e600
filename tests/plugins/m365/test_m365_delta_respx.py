"""calendarView delta details against respx: paging, Prefer, cursors, @removed checks, resync, cut bodies,
$batch 429."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from collabhub.connector import ConnectorContext, Page
from collabhub.errors import RemoteError
from collabhub_m365.connector import M365Connector
from collabhub_m365.settings import M365Settings

LOGIN = "https://login.example.test"
GRAPH = "https://graph.example.test"
NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
MAILBOX = "adele@contoso.com"
DELTA_PATH = f"/v1.0/users/{MAILBOX}/calendarView/delta"


def ev(event_id: str, subject: str = "Sync", day: int = 12) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": event_id, "subject": subject, "isOrganizer": True,
            "type": "singleInstance", "sensitivity": "normal", "changeKey": "ck", "iCalUId": f"uid-{event_id}",
            "lastModifiedDateTime": "2026-11-02T09:30:00Z",
            "start": {"dateTime": f"2026-11-{day:02d}T01:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": f"2026-11-{day:02d}T02:00:00.0000000", "timeZone": "UTC"},
            "organizer": {"emailAddress": {"name": "Adele Vance", "address": MAILBOX}}, "attendees": []}


def removed(event_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}


@pytest.fixture
def graph() -> Any:
    tenant = str(uuid.uuid4())
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.get(f"{LOGIN}/{tenant}/v2.0/.well-known/openid-configuration").respond(json={
            "token_endpoint": f"{LOGIN}/{tenant}/oauth2/v2.0/token", "issuer": f"{LOGIN}/{tenant}/v2.0",
            "authorization_endpoint": f"{LOGIN}/{tenant}/oauth2/v2.0/authorize"})
        router.post(f"{LOGIN}/{tenant}/oauth2/v2.0/token").respond(json={
            "token_type": "Bearer", "expires_in": 3599, "access_token": "tok"})
        config = M365Settings.model_validate({
            "tenant_id": tenant, "client_id": "c", "client_secret": "x" * 20, "authority_host": LOGIN,
            "graph_endpoint": GRAPH, "mailboxes": [MAILBOX], "page_size": 50, "commit_batch": 1,
            "http": {"max_wait": 0.2}, "streams": ["events"]})
        yield router, M365Connector("outlook", config, ConnectorContext(clock=lambda: NOW))


async def pages(connector: M365Connector, cursor: dict[str, Any] | None = None) -> list[Page]:
    return [page async for page in connector.stream("events").read(cursor)]


async def test_pages_follow_next_link_to_delta_link(graph: Any) -> None:
    router, connector = graph
    next_link = f"{GRAPH}{DELTA_PATH}?$skiptoken=R0usmcCM996atia_s"
    delta_link = f"{GRAPH}{DELTA_PATH}?$deltatoken=R0usmcMDNGg0J1E"
    route = router.get(url__startswith=f"{GRAPH}{DELTA_PATH}")
    route.side_effect = [
        httpx.Response(200, json={"@odata.nextLink": next_link, "value": [ev("A"), ev("B")]}),
        httpx.Response(200, json={"@odata.nextLink": next_link + "2", "value": []}),  # empty page, still a nextLink
        httpx.Response(200, json={"@odata.deltaLink": delta_link, "value": [ev("C")]}),
    ]
    got = await pages(connector)
    first = route.calls[0].request
    assert first.url.params["startDateTime"] == "2026-10-11T00:00:00Z"  # 30 days back, whole UTC days
    assert first.url.params["endDateTime"] == "2027-02-08T00:00:00Z"
    assert all(c.request.headers["Prefer"] == "odata.maxpagesize=50" for c in route.calls)
    assert str(route.calls[1].request.url) == next_link
    assert [[r["id"] for r in p.records] for p in got] == [["A", "B"], ["C"]]  # the empty page adds no commit
    assert got[0].cursor["scopes"][MAILBOX]["round"] == "open"
    assert got[-1].cursor["scopes"][MAILBOX] == {"link": delta_link, "round": "done",
                                                 "window": ["2026-10-11T00:00:00Z", "2027-02-08T00:00:00Z"]}
    await connector.aclose()


async def test_removed_entries_are_checked_in_one_batch(graph: Any) -> None:
    router, connector = graph
    delta_link = f"{GRAPH}{DELTA_PATH}?$deltatoken=round2"
    cursor = {"scopes": {MAILBOX: {"link": f"{GRAPH}{DELTA_PATH}?$deltatoken=round1", "round": "done",
                                   "window": ["2026-10-11T00:00:00Z", "2027-02-08T00:00:00Z"]}}}
    router.get(url__startswith=f"{GRAPH}{DELTA_PATH}").respond(json={
        "@odata.deltaLink": delta_link, "value": [removed("GONE"), removed("MOVED"), ev("NEW")]})
    moved = ev("MOVED", day=28) | {"start": {"dateTime": "2027-06-01T01:00:00.0000000", "timeZone": "UTC"},
                                   "end": {"dateTime": "2027-06-01T02:00:00.0000000", "timeZone": "UTC"}}
    batch = router.post(f"{GRAPH}/v1.0/$batch").respond(json={"responses": [
        {"id": "0", "status": 404, "headers": {},
         "body": {"error": {"code": "ErrorItemNotFound", "message": "The specified object was not found."}}},
        {"id": "1", "status": 200, "headers": {}, "body": moved}]})
    (page,) = await pages(connector, cursor)
    sent = json.loads(batch.calls[0].request.content)["requests"]
    assert [r["url"] for r in sent] == [f"/users/{MAILBOX}/events/GONE", f"/users/{MAILBOX}/events/MOVED"]
    assert page.deleted == ["GONE"]  # really deleted: the meeting is cancelled
    assert sorted(r["id"] for r in page.records) == ["MOVED", "NEW"]  # moved out of the window: not cancelled
    await connector.aclose()


async def test_expired_delta_token_resyncs_that_mailbox(graph: Any) -> None:
    router, connector = graph
    cursor = {"scopes": {MAILBOX: {"link": f"{GRAPH}{DELTA_PATH}?$deltatoken=old", "round": "done",
                                   "window": ["2026-10-11T00:00:00Z", "2027-02-08T00:00:00Z"]}}}
    route = router.get(url__startswith=f"{GRAPH}{DELTA_PATH}")
    route.side_effect = [
        httpx.Response(410, json={"error": {"code": "syncStateNotFound", "message": "gone"}},
                       headers={"Location": f"{GRAPH}{DELTA_PATH}?startDateTime=x&endDateTime=y"}),
        httpx.Response(200, json={"@odata.deltaLink": f"{GRAPH}{DELTA_PATH}?$deltatoken=new",
                                  "value": [ev("A"), ev("B")]}),
    ]
    (page,) = await pages(connector, cursor)
    assert "startDateTime" in str(route.calls[1].request.url)
    assert [r["id"] for r in page.records] == ["A", "B"]
    assert page.cursor["scopes"][MAILBOX]["link"].endswith("$deltatoken=new")
    await connector.aclose()


async def test_window_that_moved_on_starts_a_new_round(graph: Any) -> None:
    router, connector = graph
    cursor = {"scopes": {MAILBOX: {"link": f"{GRAPH}{DELTA_PATH}?$deltatoken=old", "round": "done",
                                   "window": ["2026-09-01T00:00:00Z", "2026-12-30T00:00:00Z"]}}}
    route = router.get(url__startswith=f"{GRAPH}{DELTA_PATH}").respond(json={
        "@odata.deltaLink": f"{GRAPH}{DELTA_PATH}?$deltatoken=new", "value": []})
    await pages(connector, cursor)
    assert route.calls[0].request.url.params["startDateTime"] == "2026-10-11T00:00:00Z"
    await connector.aclose()


async def test_a_cut_delta_page_is_a_remote_error_after_the_pages_before_it(graph: Any) -> None:
    router, connector = graph
    next_link = f"{GRAPH}{DELTA_PATH}?$skiptoken=R0usmcCM996atia_s"
    whole = json.dumps({"@odata.deltaLink": f"{GRAPH}{DELTA_PATH}?$deltatoken=new", "value": [ev("B")]}).encode()
    router.get(url__startswith=f"{GRAPH}{DELTA_PATH}").side_effect = [
        httpx.Response(200, json={"@odata.nextLink": next_link, "value": [ev("A")]}),
        httpx.Response(200, content=whole[:80], headers={"content-type": "application/json"}),
    ]
    got: list[Page] = []
    with pytest.raises(RemoteError) as caught:
        async for page in connector.stream("events").read(None):
            got.append(page)
    assert [[r["id"] for r in p.records] for p in got] == [["A"]]  # committed; the run resumes after it
    assert got[0].cursor["scopes"][MAILBOX]["link"] == next_link
    assert caught.value.connector == "outlook"
    assert str(caught.value).startswith(f"GET {GRAPH}{DELTA_PATH}?$skiptoken=… answered HTTP 200 with a body that "
                                        "is not valid JSON (80 bytes, application/json: unexpected end of data")
    await connector.aclose()


async def test_429_inside_a_200_batch_resends_only_the_throttled(graph: Any) -> None:
    from collabhub_m365.batch import BatchItem, run_batch

    router, connector = graph
    batch = router.post(f"{GRAPH}/v1.0/$batch")
    throttled = {"error": {"code": "ApplicationThrottled",
                           "message": "Application is over its MailboxConcurrency limit."}}
    batch.side_effect = [
        httpx.Response(200, json={"responses": [
            {"id": "a", "status": 201, "headers": {}, "body": ev("A")},
            {"id": "b", "status": 429, "headers": {"Retry-After": "0.01"}, "body": throttled}]}),
        httpx.Response(200, json={"responses": [{"id": "b", "status": 201, "headers": {}, "body": ev("B")}]}),
    ]
    items = [BatchItem("a", "POST", f"/users/{MAILBOX}/events", {"subject": "A"}, mailbox=MAILBOX),
             BatchItem("b", "POST", f"/users/{MAILBOX}/events", {"subject": "B"}, mailbox=MAILBOX)]
    replies = await run_batch(connector, items)
    assert {k: v.status for k, v in replies.items()} == {"a": 201, "b": 201}
    resent = json.loads(batch.calls[1].request.content)["requests"]
    assert [r["id"] for r in resent] == ["b"]
    assert resent[0]["headers"]["Content-Type"] == "application/json"
    assert connector.requests_used == 3  # each inner request counts against the budget
    await connector.aclose()
