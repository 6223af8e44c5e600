"""The Feishu ``tenant_access_token`` as an ``httpx.Auth`` flow, built on the shared ``AppTokenAuth``.

``POST /open-apis/auth/v3/tenant_access_token/internal`` with ``{app_id, app_secret}`` answers
``{code, msg, tenant_access_token, expire}`` (seconds, at most 7200). The token is cached and
fetched again ten minutes before it expires (as the official SDK does; with under 30 minutes
left Feishu hands out a new token and keeps the old one valid). A token-invalid code in an API
answer (99991663/99991664/99991671/99991661) drops the cache, fetches a new token and resends once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from collabhub.errors import Action, AuthError, ErrorResolution, Who
from collabhub.http.auth import AppTokenAuth, TokenGrant
from collabhub_feishu.errors import TOKEN_INVALID_CODES, body_code, classify

__all__ = ["TOKEN_PATH", "tenant_token_auth"]

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
REFRESH_MARGIN = 600.0


def _parse(response: httpx.Response) -> TokenGrant:
    try:
        body = response.json()
    except ValueError:
        body = {}
    token = body.get("tenant_access_token") if isinstance(body, dict) else None
    if body_code(body) == 0 and token:
        return TokenGrant(str(token), float(body.get("expire", 7200)))
    resolution = classify(response)
    if resolution.ok:  # code 0 without a token: the endpoint misbehaved
        resolution = ErrorResolution(Action.FAIL, Who.REMOTE, "the token endpoint answered without a token")
    raise AuthError(
        f"Feishu refused the app credentials: {resolution.message}",
        resolution=ErrorResolution(Action.FAIL, Who.CONFIG if resolution.who is Who.CONFIG else resolution.who,
                                   resolution.message, code=resolution.code),
        hint="check app_id and app_secret, and that the app is published in this tenant",
    )


def _token_invalid(response: httpx.Response) -> bool:
    if response.status_code not in (200, 400, 401, 403):
        return False
    try:
        return body_code(response.json()) in TOKEN_INVALID_CODES
    except ValueError:
        return response.status_code == 401


def _apply(request: httpx.Request, token: str) -> None:
    request.headers["Authorization"] = f"Bearer {token}"


def tenant_token_auth(base_url: str, app_id: str, app_secret: SecretStr, *,
                      clock: Callable[[], float] = time.monotonic) -> AppTokenAuth:
    """An auth flow that keeps a fresh ``tenant_access_token`` on every request."""
    url = base_url.rstrip("/") + TOKEN_PATH

    def token_request() -> httpx.Request:
        return httpx.Request("POST", url, json={"app_id": app_id, "app_secret": app_secret.get_secret_value()},
                             headers={"Content-Type": "application/json; charset=utf-8"})

    return AppTokenAuth(token_request, _parse, _apply, is_invalid=_token_invalid, refresh_margin=REFRESH_MARGIN,
                        clock=clock)
