"""One retry policy for every connector, driven by ``ErrorResolution``.

``send()`` runs a request through the connector's rate limiter, classifies the response with the
stream's ``classify``, and lets tenacity retry transient failures with exponential backoff,
never waiting less than the remote's ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from collabhub.errors import (
    Action,
    AuthError,
    ConnectorError,
    ErrorResolution,
    QuotaExhaustedError,
    RateLimitedError,
    RemoteError,
    Who,
)
from collabhub.http.ratelimit import RateLimiter

__all__ = ["Classifier", "default_classify", "parse_retry_after", "send"]

log = logging.getLogger(__name__)

Classifier = Callable[[httpx.Response], ErrorResolution]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now_ts = now if now is not None else time.time()
    return max(0.0, when.timestamp() - now_ts)


def _reset_header_wait(response: httpx.Response) -> float | None:
    """Seconds until an ``X-RateLimit-Reset`` (ISO 8601) moment, if present."""
    raw = response.headers.get("x-ratelimit-reset")
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def default_classify(response: httpx.Response) -> ErrorResolution:
    """HTTP-status classification; connectors with errors in bodies override ``classify``."""
    status = response.status_code
    if 200 <= status < 300:
        return ErrorResolution(Action.SUCCESS)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    reason = response.headers.get("ratelimit-reason")
    if status == 429:
        wait = retry_after if retry_after is not None else _reset_header_wait(response)
        msg = f"rate limited (HTTP 429{', ' + reason if reason else ''})"
        return ErrorResolution(Action.RATE_LIMITED, Who.TRANSIENT, msg, wait, code="429")
    if status in (500, 502, 503, 504):
        return ErrorResolution(Action.RETRY, Who.TRANSIENT, f"server error HTTP {status}", retry_after, str(status))
    if status == 401:
        return ErrorResolution(Action.REFRESH_TOKEN, Who.CONFIG,
                               "HTTP 401: credentials rejected; check the token or secret", code="401")
    if status == 403:
        return ErrorResolution(Action.FAIL, Who.CONFIG,
                               "HTTP 403: the account lacks a permission this call needs", code="403")
    if status == 408:
        return ErrorResolution(Action.RETRY, Who.TRANSIENT, "HTTP 408 request timeout", retry_after, "408")
    return ErrorResolution(Action.FAIL, Who.REMOTE, f"HTTP {status}: {response.text[:300]}", code=str(status))


class _Retry(Exception):
    def __init__(self, resolution: ErrorResolution, response: httpx.Response | None = None) -> None:
        super().__init__(resolution.message)
        self.resolution = resolution
        self.response = response


def _wait(max_wait: float, base: float) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        backoff = min(max_wait, base * (2 ** (state.attempt_number - 1)))
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.resolution.retry_after is not None:
            return min(max_wait, max(exc.resolution.retry_after, 0.0))
        return backoff
    return wait


def _error_for(resolution: ErrorResolution, connector: str | None) -> ConnectorError:
    cls: type[ConnectorError]
    if resolution.action is Action.RATE_LIMITED:
        cls = RateLimitedError
    elif resolution.action is Action.REFRESH_TOKEN or (resolution.who is Who.CONFIG and resolution.code in
                                                       ("401", "403")):
        cls = AuthError
    elif resolution.code == "quota":
        cls = QuotaExhaustedError
    else:
        cls = RemoteError
    return cls(resolution.message, resolution=resolution, connector=connector)


async def send(
    client: httpx.AsyncClient,
    build: Callable[[], httpx.Request] | httpx.Request,
    *,
    classify: Classifier = default_classify,
    limiter: RateLimiter | None = None,
    max_retries: int = 5,
    max_wait: float = 120.0,
    backoff_base: float = 0.5,
    connector: str | None = None,
    on_refresh: Callable[[], Awaitable[None] | None] | None = None,
    counter: Callable[[httpx.Request], None] | None = None,
) -> httpx.Response:
    """Send with rate limiting and classification-driven retries; raise ``ConnectorError`` on failure.

    ``SKIP`` returns the response to the caller; ``FAIL`` and exhausted retries raise.
    ``REFRESH_TOKEN`` calls ``on_refresh`` (or the client's auth ``invalidate()``) and retries once.
    """
    refreshed = False

    async def attempt() -> httpx.Response:
        nonlocal refreshed
        request = build() if callable(build) else build
        try:
            if limiter is not None:
                async with limiter.slot():
                    if counter:
                        counter(request)
                    response = await client.send(request)
                    await response.aread()
            else:
                if counter:
                    counter(request)
                response = await client.send(request)
                await response.aread()
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retry(ErrorResolution(Action.RETRY, Who.TRANSIENT, f"{type(exc).__name__}: {exc}")) from exc
        resolution = classify(response)
        if resolution.action is Action.SUCCESS or resolution.action is Action.SKIP:
            return response
        if resolution.action is Action.RATE_LIMITED:
            if limiter is not None and resolution.retry_after:
                limiter.pause(min(resolution.retry_after, max_wait))
            raise _Retry(resolution, response)
        if resolution.action is Action.RETRY:
            raise _Retry(resolution, response)
        if resolution.action is Action.REFRESH_TOKEN and not refreshed:
            refreshed = True
            hook = on_refresh or getattr(client.auth, "invalidate", None)
            if hook is not None:
                result = hook()
                if hasattr(result, "__await__"):
                    await result  # type: ignore[misc]
                raise _Retry(ErrorResolution(Action.RETRY, Who.TRANSIENT, resolution.message, 0.0), response)
        raise _error_for(resolution, connector)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(max_retries + 1),
        wait=_wait(max_wait, backoff_base),
        retry=retry_if_exception_type(_Retry),
        reraise=True,
    )
    try:
        async for state in retrying:
            with state:
                return await attempt()
    except _Retry as exc:
        log.warning("giving up after %d attempts: %s", max_retries + 1, exc.resolution.message)
        raise _error_for(exc.resolution, connector) from None
    raise AssertionError("unreachable")  # pragma: no cover
