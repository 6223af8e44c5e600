"""DingTalk's two app tokens, cached and refreshed, applied by request path.

* New API (``/v1.0/...``): ``POST /v1.0/oauth2/accessToken {appKey, appSecret}`` -> ``{accessToken,
  expireIn}``, sent as the ``x-acs-dingtalk-access-token`` header.
* Legacy oapi (``/topapi/...`` and friends): ``GET /gettoken?appkey=&appsecret=`` -> ``{errcode,
  access_token, expires_in}``, sent as the ``access_token`` query parameter.

Robot sends (``/robot/send``) carry the robot's own token and get neither. Both flows are the shared
:class:`~collabhub.http.AppTokenAuth` (refresh 5 minutes before expiry, one refresh-and-resend on a
token-rejected answer). Routing is by path, so one simulator may serve both bases.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

import httpx
from pydantic import SecretStr

from collabhub.errors import Action, AuthError, ErrorResolution, Who
from collabhub.http.auth import AppTokenAuth, TokenGrant
from collabhub_dingtalk.errors import error_body

__all__ = ["TOKEN_HEADER", "DingTalkAuth"]

TOKEN_HEADER = "x-acs-dingtalk-access-token"
_NO_AUTH_PATHS = ("/robot/send", "/gettoken", "/v1.0/oauth2/", "/v1.0/gateway/connections/open")


def _refused(what: str, detail: str) -> AuthError:
    return AuthError(f"DingTalk refused the {what}: {detail}",
                     resolution=ErrorResolution(Action.FAIL, Who.CONFIG, detail, code="401"),
                     hint="check app_key and app_secret of the internal app")


def _parse_new(response: httpx.Response) -> TokenGrant:
    body = error_body(response) or {}
    if response.status_code != 200 or not body.get("accessToken"):
        raise _refused("app credentials", str(body.get("code") or body.get("message") or
                                              f"HTTP {response.status_code}"))
    return TokenGrant(str(body["accessToken"]), float(body.get("expireIn") or 7200))


def _parse_legacy(response: httpx.Response) -> TokenGrant:
    body = error_body(response) or {}
    if response.status_code != 200 or body.get("errcode") not in (0, None) or not body.get("access_token"):
        raise _refused("app credentials (oapi gettoken)", f"errcode {body.get('errcode')}: {body.get('errmsg')}")
    return TokenGrant(str(body["access_token"]), float(body.get("expires_in") or 7200))


def _new_invalid(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    body = error_body(response) or {}
    return str(body.get("code") or "").lower() == "invalidauthentication"


def _legacy_invalid(response: httpx.Response) -> bool:
    body = error_body(response) or {}
    return body.get("errcode") in (40014, 42001)


def _set_query_token(request: httpx.Request, token: str) -> None:
    request.url = request.url.copy_set_param("access_token", token)


def _set_header_token(request: httpx.Request, token: str) -> None:
    request.headers[TOKEN_HEADER] = token


class DingTalkAuth(httpx.Auth):
    """Applies the right token by path; ``invalidate()`` drops both (a REFRESH_TOKEN verdict)."""

    requires_response_body = True

    def __init__(self, api_base_url: str, oapi_base_url: str, app_key: str, app_secret: SecretStr,
                 *, clock: Callable[[], float] | None = None) -> None:
        def new_request() -> httpx.Request:
            return httpx.Request("POST", f"{api_base_url}/v1.0/oauth2/accessToken",
                                 json={"appKey": app_key, "appSecret": app_secret.get_secret_value()})

        def legacy_request() -> httpx.Request:
            return httpx.Request("GET", f"{oapi_base_url}/gettoken",
                                 params={"appkey": app_key, "appsecret": app_secret.get_secret_value()})

        extra = {"clock": clock} if clock is not None else {}
        self.new_api = AppTokenAuth(new_request, _parse_new, _set_header_token, is_invalid=_new_invalid, **extra)
        self.legacy = AppTokenAuth(legacy_request, _parse_legacy, _set_query_token, is_invalid=_legacy_invalid,
                                   **extra)

    def invalidate(self) -> None:
        self.new_api.invalidate()
        self.legacy.invalidate()

    @property
    def fetches(self) -> int:
        """Token requests made so far (both kinds)."""
        return self.new_api.fetches + self.legacy.fetches

    def _flow_for(self, request: httpx.Request) -> AppTokenAuth | None:
        path = request.url.path
        if any(path.startswith(p) for p in _NO_AUTH_PATHS):
            return None
        return self.new_api if path.startswith("/v1.0/") else self.legacy

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        inner = self._flow_for(request)
        if inner is None:
            yield request
            return
        flow = inner.async_auth_flow(request)
        outgoing = await flow.__anext__()
        while True:
            response = yield outgoing
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return

    def sync_auth_flow(self, request: httpx.Request):  # type: ignore[override]  # pragma: no cover
        raise RuntimeError("DingTalkAuth works with httpx.AsyncClient only")

    def __repr__(self) -> str:
        return "DingTalkAuth(<hidden>)"
