"""The classification table (errors in bodies and headers) and the two app tokens (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx

from collabhub.connector import ConnectorContext
from collabhub.errors import Action, AuthError, QuotaExhaustedError, Who
from collabhub_dingtalk.connector import DingTalkConnector
from collabhub_dingtalk.errors import classify

API = "https://api.dingtalk.test"
OAPI = "https://oapi.dingtalk.test"
REQ = httpx.Request("GET", f"{API}/v1.0/x")


def _resp(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers, request=REQ)


@pytest.mark.parametrize(("response", "action", "code"), [
    (_resp(200, {"errcode": 0, "errmsg": "ok"}), Action.SUCCESS, None),
    (_resp(200, {"errcode": 90018, "errmsg": "qps"}), Action.RATE_LIMITED, "90018"),
    (_resp(403, {"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "message": "m"}), Action.RATE_LIMITED,
     "90018"),
    (_resp(403, {"code": "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi"}), Action.RATE_LIMITED, "90006"),
    (_resp(200, {"errcode": 90002}), Action.RATE_LIMITED, "90002"),
    (_resp(200, {"errcode": 90020, "errmsg": "quota"}), Action.FAIL, "quota"),
    (_resp(403, {"code": "Forbidden.AccessDenied.ApiCountLimitForOrg"}), Action.FAIL, "quota"),
    (_resp(200, {"errcode": 40014}), Action.REFRESH_TOKEN, "40014"),
    (_resp(200, {"errcode": 42001}), Action.REFRESH_TOKEN, "42001"),
    (_resp(401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}), Action.REFRESH_TOKEN, "401"),
    (_resp(200, {"errcode": -1, "errmsg": "系统繁忙"}), Action.RETRY, "-1"),
    (_resp(200, {"errcode": 88, "sub_code": "90018", "errmsg": "x"}), Action.RATE_LIMITED, "90018"),
    (_resp(200, {"errcode": 60011}), Action.FAIL, "403"),
    (_resp(200, {"errcode": 410100}), Action.RATE_LIMITED, "410100"),
    (_resp(429, {}, **{"Retry-After": "2"}), Action.RATE_LIMITED, "429"),
    (_resp(503, {}), Action.RETRY, "503"),
    (_resp(400, {"code": "invalidParameter", "message": "bad"}), Action.FAIL, "400"),
])
def test_classification_table(response: httpx.Response, action: Action, code: str | None) -> None:
    verdict = classify(response)
    assert verdict.action is action
    assert verdict.code == code


def test_ip_ban_answer_is_rate_limited_with_its_wait() -> None:
    verdict = classify(_resp(200, {"status": 1111, "wait": 5, "message": "IP被限流"}))
    assert verdict.action is Action.RATE_LIMITED and verdict.retry_after == 5
    html = httpx.Response(403, text="<html>blocked</html>", headers={"content-type": "text/html"}, request=REQ)
    assert classify(html).action is Action.RATE_LIMITED


def test_quota_message_says_what_happens_and_who_acts() -> None:
    verdict = classify(_resp(200, {"errcode": 90020, "errmsg": "企业调用接口次数超过免费额度"}))
    assert verdict.who is Who.CONFIG
    assert "keeps its cursor" in verdict.message and "resumes" in verdict.message


def _connector(**extra: object) -> DingTalkConnector:
    config = DingTalkConnector.Config.model_validate({
        "app_key": "key", "app_secret": "secret", "operator_union_id": "op", "api_base_url": API,
        "oapi_base_url": OAPI, "qps_wait": 0.01, "http": {"max_wait": 0.01}, **extra})
    return DingTalkConnector("dt", config, ConnectorContext())


@respx.mock
async def test_tokens_are_cached_and_placed_per_host() -> None:
    new = respx.post(f"{API}/v1.0/oauth2/accessToken").mock(
        return_value=httpx.Response(200, json={"accessToken": "NEW1", "expireIn": 7200}))
    old = respx.get(f"{OAPI}/gettoken").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "access_token": "OLD1", "expires_in": 7200}))
    rooms = respx.get(f"{API}/v1.0/rooms/meetingRoomLists").mock(
        return_value=httpx.Response(200, json={"result": [], "hasMore": False}))
    depts = respx.post(f"{OAPI}/topapi/v2/department/listsub").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "result": []}))
    async with _connector() as connector:
        for _ in range(3):
            await connector.call("GET", connector.api("/v1.0/rooms/meetingRoomLists"), params={"unionId": "op"})
            await connector.call("POST", connector.oapi("/topapi/v2/department/listsub"), json={"dept_id": 1})
    assert new.call_count == 1 and old.call_count == 1
    assert new.calls[0].request.read() == b'{"appKey":"key","appSecret":"secret"}'
    assert rooms.calls[0].request.headers["x-acs-dingtalk-access-token"] == "NEW1"
    assert "access_token" not in str(rooms.calls[0].request.url)
    assert depts.calls[0].request.url.params["access_token"] == "OLD1"
    assert "x-acs-dingtalk-access-token" not in depts.calls[0].request.headers


@respx.mock
async def test_rejected_tokens_are_refreshed_once() -> None:
    tokens = iter(["T1", "T2"])
    respx.post(f"{API}/v1.0/oauth2/accessToken").mock(
        side_effect=lambda request: httpx.Response(200, json={"accessToken": next(tokens), "expireIn": 7200}))
    legacy = iter(["L1", "L2"])
    respx.get(f"{OAPI}/gettoken").mock(
        side_effect=lambda request: httpx.Response(200, json={"errcode": 0, "access_token": next(legacy)}))

    def api_answer(request: httpx.Request) -> httpx.Response:
        if request.headers["x-acs-dingtalk-access-token"] == "T1":
            return httpx.Response(401, json={"code": "InvalidAuthentication", "message": "expired"})
        return httpx.Response(200, json={"result": [], "hasMore": False})

    def oapi_answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["access_token"] == "L1":
            return httpx.Response(200, json={"errcode": 42001, "errmsg": "access_token expired"})
        return httpx.Response(200, json={"errcode": 0, "result": []})

    respx.get(f"{API}/v1.0/rooms/meetingRoomLists").mock(side_effect=api_answer)
    respx.post(f"{OAPI}/topapi/v2/department/listsub").mock(side_effect=oapi_answer)
    async with _connector() as connector:
        assert (await connector.call("GET", connector.api("/v1.0/rooms/meetingRoomLists")))["hasMore"] is False
        assert (await connector.call("POST", connector.oapi("/topapi/v2/department/listsub")))["errcode"] == 0


@respx.mock
async def test_robot_sends_carry_no_app_token() -> None:
    token = respx.post(f"{API}/v1.0/oauth2/accessToken")
    send = respx.post(f"{OAPI}/robot/send").mock(return_value=httpx.Response(200, json={"errcode": 0}))
    async with _connector() as connector:
        await connector.request("POST", f"{OAPI}/robot/send?access_token=ROBOT", json={"msgtype": "text"})
    assert token.call_count == 0
    assert send.calls[0].request.url.params["access_token"] == "ROBOT"
    assert "x-acs-dingtalk-access-token" not in send.calls[0].request.headers


@respx.mock
async def test_bad_app_secret_is_an_auth_error_for_the_admin() -> None:
    respx.post(f"{API}/v1.0/oauth2/accessToken").mock(
        return_value=httpx.Response(400, json={"code": "invalidClientIdOrSecret", "message": "无效的clientId"}))
    respx.get(f"{OAPI}/gettoken").mock(
        return_value=httpx.Response(200, json={"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}))
    async with _connector() as connector:
        with pytest.raises(AuthError, match="invalidClientIdOrSecret"):
            await connector.call("GET", connector.api("/v1.0/rooms/meetingRoomLists"))
        result = await connector.check()
    assert not result.ok and "40089" in result.details[-1]


@respx.mock
async def test_qps_limit_waits_and_retries_then_quota_stops() -> None:
    respx.post(f"{API}/v1.0/oauth2/accessToken").mock(
        return_value=httpx.Response(200, json={"accessToken": "T", "expireIn": 7200}))
    route = respx.get(f"{API}/v1.0/rooms/meetingRoomLists").mock(side_effect=[
        httpx.Response(403, json={"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"}),
        httpx.Response(200, json={"result": [], "hasMore": False}),
        httpx.Response(403, json={"code": "Forbidden.AccessDenied.ApiCountLimitForOrg", "message": "额度"}),
    ])
    async with _connector() as connector:
        await connector.call("GET", connector.api("/v1.0/rooms/meetingRoomLists"))
        assert route.call_count == 2
        with pytest.raises(QuotaExhaustedError, match="monthly DingTalk API call quota"):
            await connector.call("GET", connector.api("/v1.0/rooms/meetingRoomLists"))
    assert route.call_count == 3  # the quota answer is not retried


def test_secrets_stay_out_of_reprs() -> None:
    connector = _connector(robots={"ops": {"access_token": "robot-token-xyz", "secret": "SECabcdef"}},
                           callback={"token": "cbtoken", "aes_key": "a" * 43})
    text = repr(connector.config) + repr(connector) + repr(connector.auth())
    for secret in ("secret", "robot-token-xyz", "SECabcdef", "cbtoken", "a" * 43):
        assert f"'{secret}'" not in text
