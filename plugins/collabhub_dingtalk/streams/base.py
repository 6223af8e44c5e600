"""What every DingTalk stream shares: the typed connector and the routing of targeted re-pulls.

Callbacks queue re-pulls as ``<prefix>:<id>`` (``todo:<unionId>/<taskId>``, ``approval:<id>``,
``event:<unionId>/<eventId>``, ``user:<userid>``, ``dept:<id>``). The engine hands all ids of one
entity kind to the first stream of that kind; :meth:`DingTalkStream.fetch` passes each id on to the
stream that owns its prefix (e.g. approval tasks arrive at the todo stream, both being tasks).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, ClassVar

from collabhub.connector import Page, Stream

if TYPE_CHECKING:
    from collabhub_dingtalk.connector import DingTalkConnector

__all__ = ["DingTalkStream", "QuietPages", "refresh_id"]


def refresh_id(prefix: str, value: str) -> str:
    return f"{prefix}:{value}"


class QuietPages:
    """Skips most pages that carry nothing but a cursor (the per-user streams make one call per user).

    Committing every such page costs a store transaction for nothing; leaving some out only means a
    restart re-reads a few calls' worth, which the idempotent upserts absorb.
    """

    def __init__(self, every: int = 50) -> None:
        self.every = every
        self.skipped = 0

    def keep(self, page: Page, *, last: bool = False) -> bool:
        if page.records or page.deleted or page.sweep is not None or last or self.skipped + 1 >= self.every:
            self.skipped = 0
            return True
        self.skipped += 1
        return False


class DingTalkStream(Stream):
    """Base of the DingTalk streams."""

    refresh_prefix: ClassVar[str | None] = None
    connector: DingTalkConnector

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Page]:
        by_stream: dict[str, list[str]] = defaultdict(list)
        owners = {s.refresh_prefix: s for s in self.connector.streams() if s.refresh_prefix}
        for ext in external_ids:
            prefix, sep, rest = ext.partition(":")
            if sep and prefix in owners:
                by_stream[prefix].append(rest)
            elif self.refresh_prefix:
                by_stream[self.refresh_prefix].append(ext)
        for prefix, ids in by_stream.items():
            owner = owners.get(prefix)
            if owner is None:
                self.connector.log.info("no enabled stream re-pulls %s ids; the next full read covers them", prefix)
                continue
            async for page in owner.fetch_own(ids):  # type: ignore[attr-defined]
                yield page

    async def fetch_own(self, ids: Sequence[str]) -> AsyncIterator[Page]:
        """Re-pull objects of this stream by their (unprefixed) refresh ids."""
        raise NotImplementedError(f"stream {self.name} cannot re-pull single objects")
        yield Page()  # pragma: no cover
