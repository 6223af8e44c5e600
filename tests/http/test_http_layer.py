"""The shared HTTP layer: auth flows, paginators, the retry policy and the rate limiter (respx)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx
from pydantic import SecretStr

from collabhub.errors import Action, AuthError, ErrorResolution, RateLimitedError, RemoteError, Who
from collabhub.http import (
    AppTokenAuth,
    BasicAuth,
    BearerAuth,
    HttpSettings,
    LinkPaginator,
    NextTokenPaginator,
    OAuth2ClientCredentials,
    OffsetPaginator,
    PageRequest,
    RateLimiter,
    TokenGrant,
    build_client,
    default_classify,
    paginate,
    parse_retry_after,
    send,
)

BASE = "https://api.example.test"


# -- auth ------------------------------------------------------------------------------------


@respx.mock
async def test_basic_and_bearer_auth_send_the_right_header_and_hide_the_secret():
    route = respx.get(f"{BASE}/me").mock(return_value=httpx.Response(200, json={}))
    async with build_client(HttpSettings(), base_url=BASE, auth=BasicAuth("bot@example.com", SecretStr("tok"))) as c:
        await c.get("/me")
    assert route.calls.last.request.headers["Authorization"] == "Basic Ym90QGV4YW1wbGUuY29tOnRvaw=="
    async with build_client(HttpSettings(), base_url=BASE, auth=BearerAuth(SecretStr("pat-123"))) as c:
        await c.get("/me")
    assert route.calls.last.request.headers["Authorization"] == "Bearer pat-123"
    assert "pat-123" not in repr(BearerAuth(SecretStr("pat-123")))
    assert "tok" not in repr(BasicAuth("u", SecretStr("tok")))


def _app_token(clock):
    counter = {"n": 0}

    def token_request():
        return httpx.Request("POST", f"{BASE}/token", json={"app_id": "a", "app_secret": "s"})

    def parse(response):
        body = response.json()
        if body.get("code") != 0:
            raise AuthError(f"token refused: {body.get('msg')}")
        return TokenGrant(body["token"], body["expire"])

    def apply(request, token):
        request.headers["Authorization"] = f"Bearer {token}"

    auth = AppTokenAuth(token_request, parse, apply, clock=clock, refresh_margin=300,
                        is_invalid=lambda r: r.status_code == 200 and r.json().get("code") == 99991663)
    return auth, counter


@respx.mock
async def test_app_token_is_cached_refreshed_before_expiry_and_on_rejection():
    now = [1000.0]
    auth, _ = _app_token(lambda: now[0])
    tokens = iter(["t1", "t2", "t3"])
    token_route = respx.post(f"{BASE}/token").mock(
        side_effect=lambda request: httpx.Response(200, json={"code": 0, "token": next(tokens), "expire": 7200}))
    seen = []

    def api(request):
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer t2" and len(seen) == 3:
            return httpx.Response(200, json={"code": 99991663, "msg": "tenant token invalid"})
        return httpx.Response(200, json={"code": 0})

    respx.get(f"{BASE}/api").mock(side_effect=api)
    async with build_client(HttpSettings(), base_url=BASE, auth=auth) as client:
        await client.get("/api")
        await client.get("/api")  # cached
        assert token_route.call_count == 1
        now[0] += 7200 - 299  # inside the refresh margin: fetched again before it expires
        response = await client.get("/api")  # t2 is rejected once: t3 is fetched and the call resent
    assert response.json() == {"code": 0}
    assert seen == ["Bearer t1", "Bearer t1", "Bearer t2", "Bearer t3"]
    assert token_route.call_count == 3


@respx.mock
async def test_oauth2_client_credentials_and_a_clear_error():
    respx.post(f"{BASE}/oauth/token").mock(side_effect=[
        httpx.Response(200, json={"access_token": "at-1", "expires_in": 3600}),
        httpx.Response(401, json={"error": "invalid_client", "error_description": "bad secret"}),
    ])
    api = respx.get(f"{BASE}/x").mock(return_value=httpx.Response(200, json={}))
    auth = OAuth2ClientCredentials(f"{BASE}/oauth/token", "cid", SecretStr("secret"), scope="read")
    async with build_client(HttpSettings(), base_url=BASE, auth=auth) as client:
        await client.get("/x")
        assert api.calls.last.request.headers["Authorization"] == "Bearer at-1"
        auth.invalidate()
        with pytest.raises(AuthError, match="bad secret"):
            await client.get("/x")


# -- paginators ------------------------------------------------------------------------------


async def _pages(pages, paginator, first):
    calls = []

    async def fetch(request):
        calls.append(request)
        return pages[len(calls) - 1]

    bodies = [body async for _, body in paginate(fetch, paginator, first)]
    return calls, bodies


async def test_next_token_paginator_stops_on_is_last_and_missing_token():
    pages = [{"issues": [1], "nextPageToken": "a"}, {"issues": [2], "nextPageToken": "b", "isLast": True}]
    calls, bodies = await _pages(pages, NextTokenPaginator("nextPageToken", is_last_field="isLast"),
                                 PageRequest({"jql": "x"}))
    assert [c.params.get("nextPageToken") for c in calls] == [None, "a"]
    assert len(bodies) == 2
    pages = [{"data": {"has_more": True, "page_token": "p2"}}, {"data": {"has_more": False, "page_token": "p3"}}]
    calls, _ = await _pages(pages, NextTokenPaginator("data.page_token", "page_token",
                                                      has_more_field="data.has_more"), PageRequest())
    assert [c.params.get("page_token") for c in calls] == [None, "p2"]


async def test_offset_paginator_reads_the_effective_page_size():
    pages = [{"issues": [1] * 50, "total": 120}, {"issues": [1] * 50, "total": 120}, {"issues": [1] * 20, "total": 120}]
    calls, _ = await _pages(pages, OffsetPaginator(), PageRequest({"startAt": 0, "maxResults": 1000}))
    assert [c.params["startAt"] for c in calls] == [0, 50, 100]


async def test_link_paginator_and_loop_protection():
    pages = [{"value": [], "@odata.nextLink": f"{BASE}/p2"}, {"value": [1], "@odata.deltaLink": f"{BASE}/d"}]
    calls, _ = await _pages(pages, LinkPaginator(), PageRequest(url=f"{BASE}/p1"))
    assert [c.url for c in calls] == [f"{BASE}/p1", f"{BASE}/p2"]
    looping = [{"nextPageToken": "same"}, {"nextPageToken": "same"}, {"nextPageToken": "same"}]
    with pytest.raises(RuntimeError, match="paginator loop"):
        await _pages(looping, NextTokenPaginator(), PageRequest())


# -- retry policy ----------------------------------------------------------------------------


def test_retry_after_parsing():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_default_classification_table():
    req = httpx.Request("GET", BASE)
    assert default_classify(httpx.Response(200, request=req)).action is Action.SUCCESS
    limited = default_classify(httpx.Response(429, headers={"Retry-After": "3", "RateLimit-Reason":
                                                           "jira-burst-based"}, request=req))
    assert (limited.action, limited.retry_after) == (Action.RATE_LIMITED, 3.0)
    assert "jira-burst-based" in limited.message
    assert default_classify(httpx.Response(503, request=req)).action is Action.RETRY
    assert default_classify(httpx.Response(401, request=req)).action is Action.REFRESH_TOKEN
    forbidden = default_classify(httpx.Response(403, request=req))
    assert (forbidden.action, forbidden.who) == (Action.FAIL, Who.CONFIG)


@respx.mock
async def test_send_retries_transient_errors_and_honours_retry_after():
    route = respx.get(f"{BASE}/r").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "0.05"}),
        httpx.Response(503),
        httpx.ConnectTimeout("slow"),
        httpx.Response(200, json={"ok": True}),
    ])
    waits = []
    async with build_client(HttpSettings(), base_url=BASE) as client:
        start = time.monotonic()
        response = await send(client, lambda: client.build_request("GET", "/r"), backoff_base=0.01,
                              counter=lambda r: waits.append(time.monotonic()))
    assert response.json() == {"ok": True} and route.call_count == 4
    assert waits[1] - waits[0] >= 0.05  # no sooner than Retry-After
    assert time.monotonic() - start < 5


@respx.mock
async def test_send_gives_up_with_a_typed_error():
    respx.get(f"{BASE}/always429").mock(return_value=httpx.Response(429, headers={"Retry-After": "0"}))
    respx.get(f"{BASE}/gone").mock(return_value=httpx.Response(410, text="gone"))
    async with build_client(HttpSettings(), base_url=BASE) as client:
        with pytest.raises(RateLimitedError):
            await send(client, lambda: client.build_request("GET", "/always429"), max_retries=2, backoff_base=0)
        with pytest.raises(RemoteError, match="HTTP 410"):
            await send(client, lambda: client.build_request("GET", "/gone"))


@respx.mock
async def test_errors_inside_200_bodies_are_classified_by_the_caller():
    respx.get(f"{BASE}/feishu").mock(side_effect=[
        httpx.Response(200, json={"code": 99991400, "msg": "request trigger frequency limit"},
                       headers={"x-ogw-ratelimit-reset": "0"}),
        httpx.Response(200, json={"code": 0, "data": {}}),
    ])

    def classify(response):
        code = response.json().get("code")
        if code == 99991400:
            return ErrorResolution(Action.RATE_LIMITED, Who.TRANSIENT, "feishu rate limit",
                                   float(response.headers.get("x-ogw-ratelimit-reset", 1)))
        return default_classify(response)

    async with build_client(HttpSettings(), base_url=BASE) as client:
        response = await send(client, lambda: client.build_request("GET", "/feishu"), classify=classify)
    assert response.json()["code"] == 0


# -- rate limiter ----------------------------------------------------------------------------


def _fake_time():
    clock = [0.0]

    async def sleep(delay):
        clock[0] += delay

    return clock, sleep


async def test_rate_limiter_spaces_requests_and_caps_concurrency():
    clock, sleep = _fake_time()
    limiter = RateLimiter(10, burst=1, max_concurrency=2, clock=lambda: clock[0], sleep=sleep)
    times = []
    for _ in range(5):
        async with limiter.slot():
            times.append(clock[0])
    assert [round(t, 2) for t in times] == [0.0, 0.1, 0.2, 0.3, 0.4]

    live = RateLimiter(None, max_concurrency=2)
    inside, peak = 0, 0

    async def work():
        nonlocal inside, peak
        async with live.slot():
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(work() for _ in range(8)))
    assert peak == 2


async def test_pause_holds_every_request():
    clock, sleep = _fake_time()
    limiter = RateLimiter(None, clock=lambda: clock[0], sleep=sleep)
    limiter.pause(2.0)
    async with limiter.slot():
        pass
    assert clock[0] == pytest.approx(2.0) and limiter.waited == pytest.approx(2.0)


def test_client_factory_applies_settings(tmp_path):
    settings = HttpSettings(timeout=12, connect_timeout=3, proxy="http://proxy.example.test:3128")
    client = build_client(settings, base_url=BASE, headers={"X-Extra": "1"})
    assert client.timeout.read == 12 and client.timeout.connect == 3
    assert client.headers["X-Extra"] == "1" and client.headers["User-Agent"].startswith("collabhub/")
    assert not client.follow_redirects
