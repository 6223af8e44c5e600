"""Auth flows as ``httpx.Auth``: basic, bearer, OAuth2 client credentials, app token with refresh.

``AppTokenAuth`` is the shape of Feishu's ``tenant_access_token`` and DingTalk's ``accessToken``:
fetch a token with a request of its own, cache it, refresh it ahead of expiry, and on a
token-invalid answer fetch a new one and resend once. Secrets are read through ``SecretStr`` and
never appear in ``repr`` or logs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from collabhub.errors import Action, AuthError, ErrorResolution, Who

__all__ = ["AppTokenAuth", "BasicAuth", "BearerAuth", "OAuth2ClientCredentials", "TokenGrant"]


def _secret(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class BasicAuth(httpx.BasicAuth):
    """HTTP basic auth (e.g. Jira Cloud email + API token) from a ``SecretStr``."""

    def __init__(self, username: str, password: SecretStr | str) -> None:
        super().__init__(username, _secret(password))

    def __repr__(self) -> str:
        return "BasicAuth(<hidden>)"


class BearerAuth(httpx.Auth):
    """A static bearer token (Jira Data Center PAT, an OAuth 2.0 token an admin issued)."""

    def __init__(self, token: SecretStr | str, *, header: str = "Authorization", scheme: str = "Bearer") -> None:
        self._token = SecretStr(_secret(token))
        self._header = header
        self._scheme = scheme

    def auth_flow(self, request: httpx.Request):  # type: ignore[override]
        value = self._token.get_secret_value()
        request.headers[self._header] = f"{self._scheme} {value}" if self._scheme else value
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(<hidden>)"


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A token and how many seconds it stays valid."""

    token: str
    expires_in: float

    def __repr__(self) -> str:
        return f"TokenGrant(<hidden>, expires_in={self.expires_in})"


class AppTokenAuth(httpx.Auth):
    """A cached app token fetched through the client itself, refreshed before it expires.

    ``token_request`` builds the request that fetches a token; ``parse`` turns its response into
    a :class:`TokenGrant` (raising ``AuthError`` with a clear message on failure); ``apply`` puts
    the token on an outgoing request; ``is_invalid`` spots a token-rejected answer, which triggers
    one refresh and one resend.
    """

    requires_response_body = True

    def __init__(
        self,
        token_request: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], TokenGrant],
        apply: Callable[[httpx.Request, str], None],
        *,
        is_invalid: Callable[[httpx.Response], bool] = lambda r: r.status_code == 401,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_request = token_request
        self._parse = parse
        self._apply = apply
        self._is_invalid = is_invalid
        self._margin = refresh_margin
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    def invalidate(self) -> None:
        """Forget the cached token; the next request fetches a new one."""
        self._token = None
        self._expires_at = 0.0

    def _valid(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at - self._margin

    def _store(self, grant: TokenGrant) -> None:
        self.fetches += 1
        self._token = grant.token
        self._expires_at = self._clock() + grant.expires_in

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._valid():
            async with self._lock:
                if not self._valid():
                    token_response = yield self._token_request()
                    await token_response.aread()
                    self._store(self._parse(token_response))
        assert self._token is not None
        self._apply(request, self._token)
        response = yield request
        await response.aread()
        if self._is_invalid(response):
            async with self._lock:
                self.invalidate()
                token_response = yield self._token_request()
                await token_response.aread()
                self._store(self._parse(token_response))
            self._apply(request, self._token)
            yield request

    def sync_auth_flow(self, request: httpx.Request):  # pragma: no cover - async only
        raise RuntimeError("AppTokenAuth works with httpx.AsyncClient only")

    def __repr__(self) -> str:
        return "AppTokenAuth(<hidden>)"


class OAuth2ClientCredentials(AppTokenAuth):
    """OAuth 2.0 client credentials grant (RFC 6749 section 4.4) against a token endpoint."""

    def __init__(self, token_url: str, client_id: str, client_secret: SecretStr | str, *,
                 scope: str | None = None, refresh_margin: float = 60.0) -> None:
        secret = SecretStr(_secret(client_secret))

        def token_request() -> httpx.Request:
            data = {"grant_type": "client_credentials", "client_id": client_id,
                    "client_secret": secret.get_secret_value()}
            if scope:
                data["scope"] = scope
            return httpx.Request("POST", token_url, data=data, headers={"Accept": "application/json"})

        def parse(response: httpx.Response) -> TokenGrant:
            try:
                body = response.json()
            except ValueError:
                body = {}
            if response.status_code != 200 or "access_token" not in body:
                error = body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
                raise AuthError(
                    f"token endpoint refused the client credentials: {error}",
                    resolution=ErrorResolution(Action.FAIL, Who.CONFIG, str(error)),
                    hint="check client_id, client_secret and scope",
                )
            return TokenGrant(body["access_token"], float(body.get("expires_in", 3600)))

        def apply(request: httpx.Request, token: str) -> None:
            request.headers["Authorization"] = f"Bearer {token}"

        super().__init__(token_request, parse, apply, refresh_margin=refresh_margin)
