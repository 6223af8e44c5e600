"""The httpx AsyncClient factory every HTTP connector uses.

Settings are a pydantic model a connector's ``Config`` embeds as ``http:``; they carry timeouts,
proxy, CA bundle (``verify``), a request-rate limit and a concurrency cap.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

from collabhub import __version__

__all__ = ["HttpSettings", "build_client", "ssl_verify"]

USER_AGENT = f"collabhub/{__version__} (+https://github.com/collabhub)"


class HttpSettings(BaseModel):
    """Transport settings for one connector."""

    model_config = ConfigDict(extra="forbid")

    timeout: PositiveFloat = Field(30.0, description="seconds for connect, read and write")
    connect_timeout: PositiveFloat = Field(10.0, description="seconds to establish a connection")
    proxy: str | None = Field(None, description="proxy URL, e.g. http://proxy.corp:3128")
    verify: bool | str = Field(True, description="true, false, or the path of a CA bundle (PEM)")
    rate_limit: PositiveFloat | None = Field(None, description="requests per second, at most")
    max_concurrency: PositiveInt = Field(8, description="requests in flight at once, at most")
    max_retries: int = Field(5, ge=0, le=20, description="retries for transient and rate-limit errors")
    max_wait: PositiveFloat = Field(120.0, description="longest single wait between retries, seconds")


def ssl_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """Turn the ``verify`` setting into what httpx expects; a path becomes an SSLContext."""
    if isinstance(verify, bool):
        return verify
    path = Path(verify).expanduser()
    if path.is_dir():
        return ssl.create_default_context(capath=str(path))
    return ssl.create_default_context(cafile=str(path))


def build_client(
    settings: HttpSettings,
    *,
    base_url: str = "",
    auth: httpx.Auth | None = None,
    headers: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A configured ``httpx.AsyncClient``. ``transport`` is the seam tests use (respx, ASGI)."""
    timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
    limits = httpx.Limits(max_connections=max(settings.max_concurrency * 2, 10),
                          max_keepalive_connections=max(settings.max_concurrency, 5))
    all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    all_headers.update(headers or {})
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        headers=all_headers,
        timeout=timeout,
        limits=limits,
        proxy=settings.proxy,
        verify=ssl_verify(settings.verify),
        transport=transport,
        trust_env=settings.proxy is None,
        follow_redirects=False,
    )
