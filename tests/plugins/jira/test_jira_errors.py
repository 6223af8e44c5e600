"""Classification of Jira answers, and what the shared retry policy does with it (respx, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from collabhub.errors import Action, AuthError, QuotaExhaustedError, RateLimitedError, RemoteError, Who
from collabhub_jira.connector import JiraConnector
from collabhub_jira.errors import classify

BASE = "https://acme.atlassian.net"
REQ = httpx.Request("POST", f"{BASE}/rest/api/3/search/jql")


def answer(status: int, body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {"errorMessages": [], "errors": {}},
                          headers=headers, request=REQ)


def connector(**http: object) -> JiraConnector:
    config = JiraConnector.Config.model_validate({"base_url": BASE, "email": "bot@acme.com", "api_token": "t0ken-x",
                                                 "http": {"max_retries": 3, "max_wait": 5, **http}})
    return JiraConnector("jira", config)


@pytest.mark.parametrize(("status", "headers", "action", "code"), [
    (429, {"Retry-After": "3", "RateLimit-Reason": "jira-burst-based"}, Action.RATE_LIMITED, "429"),
    (429, {"Retry-After": "2", "RateLimit-Reason": "jira-per-issue-on-write"}, Action.RATE_LIMITED, "429-per-issue"),
    (429, {"Retry-After": "30", "RateLimit-Reason": "jira-quota-tenant-based"}, Action.RATE_LIMITED, "429-quota"),
    (503, {"Retry-After": "4"}, Action.RETRY, "503"),
    (502, {}, Action.RETRY, "502"),
    (401, {}, Action.FAIL, "401"),
    (403, {}, Action.FAIL, "403"),
    (410, {}, Action.FAIL, "410"),
    (404, {}, Action.FAIL, "404"),
])
def test_table_rows(status, headers, action, code):
    verdict = classify(answer(status, **headers), max_wait=120)
    assert (verdict.action, verdict.code) == (action, code)


def test_retry_after_and_reason_reach_the_verdict():
    verdict = classify(answer(429, **{"Retry-After": "3", "RateLimit-Reason": "jira-burst-based"}))
    assert verdict.retry_after == 3
    assert "jira-burst-based" in verdict.message


def test_reset_header_gives_the_wait_when_retry_after_is_missing():
    reset = (datetime.now(UTC) + timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    verdict = classify(answer(429, **{"X-RateLimit-Reset": reset}))
    assert 35 <= verdict.retry_after <= 41


def test_quota_beyond_the_longest_wait_stops_the_run():
    verdict = classify(answer(429, **{"Retry-After": "1800", "RateLimit-Reason": "jira-quota-global-based"}),
                       max_wait=120)
    assert (verdict.action, verdict.code, verdict.who) == (Action.FAIL, "quota", Who.REMOTE)


def test_bad_jql_names_jiras_own_message():
    body = {"errorMessages": ["Field 'sprintx' does not exist or you do not have permission to view it."],
            "errors": {}}
    verdict = classify(answer(400, body))
    assert verdict.who is Who.CONFIG and "sprintx" in verdict.message


def test_removed_search_says_what_to_do():
    body = {"errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."],
            "errors": {}}
    verdict = classify(answer(410, body))
    assert "search/jql" in verdict.message and verdict.who is Who.CONFIG


def test_data_center_result_window_is_not_retried():
    body = {"errorMessages": ["Search limit exceeded. We couldn't complete your search because it requests 10,100 "
                              "results which exceeded the search platform limit of 10,000."], "errors": {}}
    verdict = classify(answer(500, body))
    assert (verdict.action, verdict.code) == (Action.FAIL, "result-window")


@respx.mock
async def test_429_storm_is_waited_out_then_succeeds():
    route = respx.post(f"{BASE}/rest/api/3/search/jql").mock(side_effect=[
        answer(429, **{"Retry-After": "0", "RateLimit-Reason": "jira-burst-based"}),
        answer(429, **{"Retry-After": "0", "RateLimit-Reason": "jira-burst-based"}),
        httpx.Response(200, json={"issues": [], "isLast": True}),
    ])
    conn = connector()
    response = await conn.request("POST", "/rest/api/3/search/jql", json={"jql": "project = APL"})
    assert response.json() == {"issues": [], "isLast": True}
    assert route.call_count == 3 and conn.api_calls == 3


@respx.mock
async def test_endless_429_raises_rate_limited():
    respx.post(f"{BASE}/rest/api/3/search/jql").mock(return_value=answer(429, **{"Retry-After": "0"}))
    with pytest.raises(RateLimitedError):
        await connector(max_retries=2).request("POST", "/rest/api/3/search/jql", json={})


@respx.mock
async def test_quota_exhausted_is_its_own_error():
    respx.post(f"{BASE}/rest/api/3/search/jql").mock(
        return_value=answer(429, **{"Retry-After": "3000", "RateLimit-Reason": "jira-quota-tenant-based"}))
    with pytest.raises(QuotaExhaustedError):
        await connector().request("POST", "/rest/api/3/search/jql", json={})


@respx.mock
async def test_wrong_credentials_fail_once_with_a_clear_message():
    route = respx.get(f"{BASE}/rest/api/3/myself").mock(return_value=answer(401))
    with pytest.raises(AuthError, match="api_token"):
        await connector().request("GET", "/rest/api/3/myself")
    assert route.call_count == 1


@respx.mock
async def test_basic_auth_header_is_email_and_token():
    route = respx.get(f"{BASE}/rest/api/3/myself").mock(return_value=httpx.Response(200, json={}))
    await connector().request("GET", "/rest/api/3/myself")
    assert route.calls[0].request.headers["authorization"] == httpx.BasicAuth("bot@acme.com", "t0ken-x")._auth_header


@respx.mock
async def test_data_center_pat_is_a_bearer_token():
    config = JiraConnector.Config.model_validate({"base_url": "https://jira.corp", "deployment": "datacenter",
                                                 "personal_access_token": "pat-123456"})
    route = respx.get("https://jira.corp/rest/api/2/myself").mock(return_value=httpx.Response(200, json={}))
    await JiraConnector("dc", config).request("GET", "/rest/api/2/myself")
    assert route.calls[0].request.headers["authorization"] == "Bearer pat-123456"


def test_near_limit_header_slows_the_connector_down():
    conn = connector()
    before = conn.limiter._paused_until
    verdict = conn.classify(httpx.Response(200, json={}, headers={"X-RateLimit-NearLimit": "true"}, request=REQ))
    assert verdict.ok and conn.limiter._paused_until > before


@respx.mock
async def test_create_is_not_resent_by_the_transport_after_a_timeout():
    route = respx.post(f"{BASE}/rest/api/3/issue").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(RemoteError):
        await connector().request_once("POST", "/rest/api/3/issue", json={})
    assert route.call_count == 1


def test_config_names_the_missing_credentials():
    with pytest.raises(ValueError, match="email \\+ api_token"):
        JiraConnector.Config.model_validate({"base_url": BASE})
    with pytest.raises(ValueError, match="personal_access_token"):
        JiraConnector.Config.model_validate({"base_url": BASE, "deployment": "datacenter"})
