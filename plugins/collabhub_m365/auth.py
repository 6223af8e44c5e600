"""App-only Graph tokens through msal's ``ConfidentialClientApplication``.

* client secret or certificate, the ``<graph>/.default`` scope, msal's token cache (one msal app
  per tenant + client + credential + transport in this process, so every connector instance and
  run shares the cached token: about one identity-provider call per token lifetime);
* msal is synchronous: it runs in a worker thread, behind an asyncio lock;
* msal talks HTTP through :class:`MsalHttpClient`, an ``httpx.Client`` that honours the
  connector's ``http.proxy`` and ``http.verify`` (a configured CA bundle wins over
  ``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE``), and accepts a transport (respx) in tests;
* ``instance_discovery`` is off for hosts msal does not know (a proxy, a simulator).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import msal

from collabhub.errors import Action, AuthError, ErrorResolution, Who
from collabhub.http.client import HttpSettings, ssl_verify

from .settings import M365Settings

__all__ = ["GraphAuth", "GraphTokenProvider", "MsalHttpClient"]

REFRESH_MARGIN = 300.0  # msal itself refreshes when less than 5 minutes remain


class MsalHttpClient:
    """msal's ``http_client`` hook (``get``/``post`` returning status_code, text, headers) on httpx.

    Tokens are fetched about once an hour, so connections are not kept alive between calls.
    """

    def __init__(self, settings: HttpSettings, transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            limits=httpx.Limits(max_keepalive_connections=0),
            proxy=settings.proxy, verify=ssl_verify(settings.verify), transport=transport,
            trust_env=settings.proxy is None, follow_redirects=False,
        )

    def post(self, url: str, params: dict[str, Any] | None = None, data: Any = None,
             headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        if isinstance(data, dict):  # msal hands some values (the client assertion) over as bytes
            body: dict[str, Any] = {"data": {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}}
        else:
            body = {"content": data}
        return self._client.post(url, params=params, headers=headers, timeout=kwargs.get("timeout"), **body)

    def get(self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
            **kwargs: Any) -> httpx.Response:
        return self._client.get(url, params=params, headers=headers, timeout=kwargs.get("timeout"))

    def close(self) -> None:
        self._client.close()


def _credential(settings: M365Settings) -> str | dict[str, Any]:
    if settings.client_secret is not None:
        return settings.client_secret.get_secret_value()
    cert = settings.certificate
    assert cert is not None
    try:
        credential: dict[str, Any] = {"private_key": Path(cert.private_key_path).expanduser().read_text()}
        if cert.public_certificate_path:
            credential["public_certificate"] = Path(cert.public_certificate_path).expanduser().read_text()
    except OSError as exc:
        raise AuthError(f"cannot read the client certificate: {exc}",
                        resolution=ErrorResolution(Action.FAIL, Who.CONFIG, str(exc)),
                        hint="check certificate.private_key_path / public_certificate_path") from exc
    if cert.thumbprint:
        credential["thumbprint"] = cert.thumbprint.replace(":", "").upper()
    if cert.passphrase is not None:
        credential["passphrase"] = cert.passphrase.get_secret_value()
    return credential


_APPS: dict[str, msal.ConfidentialClientApplication] = {}
_APPS_LOCK = threading.Lock()


def _app_key(settings: M365Settings, credential: str | dict[str, Any], transport: object | None) -> str:
    material = repr((settings.authority, settings.client_id, sorted(credential.items()) if isinstance(
        credential, dict) else credential, settings.http.proxy, settings.http.verify, id(transport)))
    return hashlib.sha256(material.encode()).hexdigest()


class GraphTokenProvider:
    """Hands out app-only access tokens for Graph; fetched by msal in a thread, cached by msal."""

    def __init__(self, settings: M365Settings, *, transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._transport = transport
        self._clock = clock
        self._lock: asyncio.Lock | None = None
        self._token: str | None = None
        self._valid_until = 0.0
        self.fetches = 0  # tokens msal returned (from its cache or the identity provider)

    def _application(self) -> msal.ConfidentialClientApplication:
        credential = _credential(self.settings)
        key = _app_key(self.settings, credential, self._transport)
        with _APPS_LOCK:
            app = _APPS.get(key)
            if app is None:
                discovery = self.settings.instance_discovery
                if discovery is None:
                    discovery = self.settings.known_cloud
                app = msal.ConfidentialClientApplication(
                    self.settings.client_id, client_credential=credential, authority=self.settings.authority,
                    http_client=MsalHttpClient(self.settings.http, self._transport),
                    instance_discovery=discovery, token_cache=msal.TokenCache(),
                )
                _APPS[key] = app
        return app

    def _acquire(self) -> dict[str, Any]:
        try:
            app = self._application()
        except httpx.HTTPError as exc:
            return {"error": "network", "error_description": f"{type(exc).__name__}: {exc}"}
        except ValueError as exc:  # msal: OIDC discovery failed, or the certificate/key is unreadable
            unreachable = "authority configuration" in str(exc) or "OIDC" in str(exc)
            return {"error": "authority_unreachable" if unreachable else "bad_credential",
                    "error_description": str(exc)}
        try:
            return app.acquire_token_for_client(scopes=[self.settings.scope])
        except httpx.HTTPError as exc:
            return {"error": "network", "error_description": f"{type(exc).__name__}: {exc}"}
        except (ValueError, jwt.PyJWTError) as exc:  # the private key cannot sign the client assertion
            return {"error": "bad_credential", "error_description": f"{type(exc).__name__}: {exc}"}

    async def token(self) -> str:
        """A valid access token (the cached one while more than 5 minutes remain)."""
        if self._token and self._clock() < self._valid_until:
            return self._token
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._token and self._clock() < self._valid_until:
                return self._token
            result = await asyncio.to_thread(self._acquire)
            if "access_token" not in result:
                raise _auth_error(result, self.settings)
            self.fetches += 1
            self._token = result["access_token"]
            self._valid_until = self._clock() + max(0.0, float(result.get("expires_in", 0)) - REFRESH_MARGIN)
            return self._token

    def invalidate(self) -> None:
        """Forget the token here and in msal's cache (Graph rejected it); the next call fetches anew."""
        rejected, self._token, self._valid_until = self._token, None, 0.0
        credential = _credential(self.settings)
        with _APPS_LOCK:
            app = _APPS.get(_app_key(self.settings, credential, self._transport))
        if app is None or rejected is None:
            return
        cache = app.token_cache
        for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN,
                                      query={"client_id": self.settings.client_id})):
            if item.get("secret") == rejected:
                cache.remove_at(item)


def _auth_error(result: dict[str, Any], settings: M365Settings) -> AuthError:
    error = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or "").split("\r\n")[0][:400]
    transient = error in ("network", "temporarily_unavailable", "authority_unreachable")
    hints = {
        "invalid_client": "check client_secret (its value, not its id) or the certificate registered for the app",
        "unauthorized_client": "check client_id and tenant_id: the app is not registered in this tenant",
        "invalid_tenant": "check tenant_id",
        "invalid_scope": "the scope must be <graph endpoint>/.default; check graph_endpoint and cloud",
        "bad_credential": "check certificate.private_key_path, passphrase, thumbprint/public_certificate_path",
        "authority_unreachable": f"check authority_host ({settings.login_host}), http.proxy and http.verify",
        "network": f"check network access to {settings.login_host}, http.proxy and http.verify",
    }
    resolution = ErrorResolution(Action.RETRY if transient else Action.FAIL,
                                 Who.TRANSIENT if transient else Who.CONFIG, f"{error}: {description}", code="token")
    return AuthError(f"could not get a Graph token from {settings.authority}: {error}: {description}",
                     resolution=resolution, hint=hints.get(error, "check the app registration and its secret"))


class GraphAuth(httpx.Auth):
    """Puts the app token on each Graph request; ``invalidate()`` is what a 401 triggers."""

    def __init__(self, provider: GraphTokenProvider) -> None:
        self.provider = provider

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self.provider.token()}"
        yield request

    def sync_auth_flow(self, request: httpx.Request):  # pragma: no cover - async only
        raise RuntimeError("GraphAuth works with httpx.AsyncClient only")

    def invalidate(self) -> None:
        self.provider.invalidate()

    def __repr__(self) -> str:
        return "GraphAuth(<hidden>)"
