"""tenant_access_token as an httpx.Auth flow (respx): cached, refreshed before expiry, one retry."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import SecretStr

from collabhub.connector import ConnectorContext
from collabhub.errors import AuthError, RemoteError
from collabhub_feishu.auth import TOKEN_PATH, tenant_token_auth
from collabhub_feishu.connector import FeishuConnector

BASE = "https://open.feishu.cn"
CALENDARS = f"{BASE}/open-apis/calendar/v4/calendars"
OK_PAGE = {"code": 0, "msg": "success", "data": {"has_more": False, "calendar_list": []}}


def token_answer(token: str, expire: int = 7200) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "msg": "ok", "tenant_access_token": token, "expire": expire})


def connector(**settings: object) -> FeishuConnector:
    config = FeishuConnector.Config.model_validate({"app_id": "cli_x", "app_secret": "s3cret",
                                                    "http": {"max_wait": 0.01}, **settings})
    return FeishuConnector("fs", config, ConnectorContext())


@respx.mock
async def test_token_is_fetched_once_and_sent_as_bearer() -> None:
    token_route = respx.post(f"{BASE}{TOKEN_PATH}").mock(return_value=token_answer("t-one"))
    api = respx.get(CALENDARS).mock(return_value=httpx.Response(200, json=OK_PAGE))
    async with connector() as feishu:
        for _ in range(3):
            await feishu.call("GET", "/open-apis/calendar/v4/calendars")
    assert token_route.call_count == 1
    assert token_route.calls[0].request.content == b'{"app_id":"cli_x","app_secret":"s3cret"}'
    assert all(c.request.headers["Authorization"] == "Bearer t-one" for c in api.calls)


@respx.mock
async def test_token_invalid_code_refreshes_once_and_resends() -> None:
    respx.post(f"{BASE}{TOKEN_PATH}").mock(side_effect=[token_answer("t-old"), token_answer("t-new")])
    api = respx.get(CALENDARS).mock(side_effect=[
        httpx.Response(400, json={"code": 99991663, "msg": "Invalid access token for authorization."}),
        httpx.Response(200, json=OK_PAGE)])
    async with connector() as feishu:
        body = await feishu.call("GET", "/open-apis/calendar/v4/calendars")
    assert body["code"] == 0
    assert [c.request.headers["Authorization"] for c in api.calls] == ["Bearer t-old", "Bearer t-new"]


@respx.mock
async def test_a_token_that_stays_invalid_is_an_auth_error() -> None:
    respx.post(f"{BASE}{TOKEN_PATH}").mock(side_effect=lambda request: token_answer("t-any"))
    respx.get(CALENDARS).mock(return_value=httpx.Response(
        200, json={"code": 99991663, "msg": "Invalid access token for authorization."}))
    async with connector() as feishu:
        with pytest.raises(AuthError, match="99991663"):
            await feishu.call("GET", "/open-apis/calendar/v4/calendars")


@respx.mock
async def test_wrong_secret_names_the_setting() -> None:
    respx.post(f"{BASE}{TOKEN_PATH}").mock(return_value=httpx.Response(
        400, json={"code": 10014, "msg": "app secret invalid"}))
    async with connector() as feishu:
        with pytest.raises(AuthError) as caught:
            await feishu.call("GET", "/open-apis/calendar/v4/calendars")
    assert "app_secret" in str(caught.value)
    assert "s3cret" not in str(caught.value)


async def test_token_refreshed_ten_minutes_before_expiry() -> None:
    now = [0.0]
    fetched: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            fetched.append(f"t-{len(fetched)}")
            return token_answer(fetched[-1], expire=7200)
        return httpx.Response(200, json=OK_PAGE)

    auth = tenant_token_auth(BASE, "cli_x", SecretStr("s"), clock=lambda: now[0])
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        await client.get(CALENDARS)
        now[0] = 7200 - 601
        await client.get(CALENDARS)
        assert fetched == ["t-0"]
        now[0] = 7200 - 599
        response = await client.get(CALENDARS)
    assert fetched == ["t-0", "t-1"]
    assert response.request.headers["Authorization"] == "Bearer t-1"


@respx.mock
async def test_lark_platform_uses_the_international_host() -> None:
    route = respx.post(f"https://open.larksuite.com{TOKEN_PATH}").mock(return_value=token_answer("t-lark"))
    respx.get("https://open.larksuite.com/open-apis/calendar/v4/calendars").mock(
        return_value=httpx.Response(200, json=OK_PAGE))
    async with connector(platform="lark") as feishu:
        await feishu.call("GET", "/open-apis/calendar/v4/calendars")
    assert route.called


async def test_base_url_proxy_and_ca_bundle_reach_the_client() -> None:
    import certifi

    feishu = connector(base_url="https://feishu-gw.corp.example/",
                       http={"proxy": "http://proxy.corp.example:3128", "verify": certifi.where()})
    client = feishu.client
    assert str(client.base_url) == "https://feishu-gw.corp.example"
    assert client._mounts, "the proxy setting must mount a proxy transport"
    await feishu.aclose()


@respx.mock
async def test_missing_scope_surfaces_as_a_config_error() -> None:
    respx.post(f"{BASE}{TOKEN_PATH}").mock(return_value=token_answer("t"))
    respx.get(CALENDARS).mock(return_value=httpx.Response(400, json={
        "code": 99991672, "msg": "Access denied.",
        "error": {"permission_violations": [{"type": "action_scope_required", "subject": "calendar:calendar"}]}}))
    async with connector() as feishu:
        with pytest.raises((AuthError, RemoteError)) as caught:
            await feishu.call("GET", "/open-apis/calendar/v4/calendars")
    assert "calendar:calendar" in str(caught.value)
    assert caught.value.who.value == "config"
