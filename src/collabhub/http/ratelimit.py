"""A per-connector request budget: a token bucket for the rate and a semaphore for concurrency.

A ``Retry-After`` from the remote pauses the whole limiter (every request of the connector waits),
which is what rate-limited APIs expect: the limit is per app, not per coroutine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

__all__ = ["RateLimiter"]


class RateLimiter:
    """Token bucket (``rate`` per second, burst ``burst``) plus a concurrency cap."""

    def __init__(self, rate: float | None = None, *, burst: int | None = None, max_concurrency: int = 8,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.rate = rate
        self.burst = float(burst if burst is not None else max(1, int(rate or 1)))
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._sem = asyncio.Semaphore(max_concurrency)
        self.max_concurrency = max_concurrency
        self.waited = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (the remote said Retry-After)."""
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))

    async def _take_token(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._paused_until:
                    delay = self._paused_until - now
                elif self.rate is None:
                    return
                else:
                    self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                    self._last = now
                    if self._tokens >= 1 - 1e-9:  # float rounding must not starve a waiter
                        self._tokens = max(0.0, self._tokens - 1)
                        return
                    delay = max((1 - self._tokens) / self.rate, 1e-3)
                self.waited += delay
                await self._sleep(delay)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a token and a free concurrency slot; hold the slot for the request."""
        async with self._sem:
            await self._take_token()
            yield
