"""Client-side pacing of writes to one issue, below Jira's per-issue limit (20 per 2 s, 100 per 30 s).

Jira answers 429 with ``RateLimit-Reason: jira-per-issue-on-write`` past that limit; pacing first
keeps a burst of deliveries to one busy issue from ever seeing it. The 429 is still classified
(and retried after ``Retry-After``) should another client write to the same issue.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable

__all__ = ["IssueWritePacer"]

WINDOWS: tuple[tuple[float, int], ...] = ((2.0, 20), (30.0, 100))


class IssueWritePacer:
    """Sliding-window pacing per issue; ``await pacer.wait(issue)`` before each write."""

    def __init__(self, windows: tuple[tuple[float, int], ...] = WINDOWS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.windows = windows
        self.clock = clock
        self._log: dict[str, deque[float]] = defaultdict(deque)
        self._lock = asyncio.Lock()
        self.waited = 0.0

    def delay(self, issue: str) -> float:
        """Seconds until one more write to ``issue`` fits every window."""
        now = self.clock()
        log = self._log[issue]
        longest = max(span for span, _ in self.windows)
        while log and now - log[0] >= longest:
            log.popleft()
        wait = 0.0
        for span, limit in self.windows:
            inside = [t for t in log if now - t < span]
            if len(inside) >= limit:
                wait = max(wait, inside[len(inside) - limit] + span - now)
        return wait

    async def wait(self, issue: str) -> None:
        async with self._lock:
            while (delay := self.delay(issue)) > 0:
                self.waited += delay
                await asyncio.sleep(delay)
            self._log[issue].append(self.clock())
