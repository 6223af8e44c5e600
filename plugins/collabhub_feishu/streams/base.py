"""What every Feishu stream shares: typed access to the connector, paging, freshness of cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from collabhub.connector import Stream

if TYPE_CHECKING:
    from collabhub_feishu.config import FeishuConfig
    from collabhub_feishu.connector import FeishuConnector

__all__ = ["FeishuStream", "chunks", "pages"]

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


async def pages(connector: FeishuConnector, method: str, path: str, params: Mapping[str, Any], *,
                items_key: str = "items", page_token: str | None = None,
                ) -> AsyncIterator[tuple[list[dict[str, Any]], str | None]]:
    """Yield ``(items, next_page_token)`` per page; the token is ``None`` on the last page.

    Feishu pages answer ``{has_more, page_token, <items_key>}``; a page that claims more but hands
    no token ends the loop (the remote would otherwise be asked for the same page forever).
    """
    token = page_token
    while True:
        query = dict(params)
        if token:
            query["page_token"] = token
        data = await connector.data(method, path, params=query)
        items = list(data.get(items_key) or [])
        token = data.get("page_token") if data.get("has_more") else None
        yield items, token or None
        if not token:
            return


class FeishuStream(Stream):
    """Base of the Feishu streams."""

    connector: FeishuConnector

    @property
    def cfg(self) -> FeishuConfig:
        return self.connector.config

    def now(self) -> datetime:
        return self.connector.now()

    def fresh(self, stamp: str | None) -> bool:
        """Whether a reference read finished at ``stamp`` is recent enough to skip this run."""
        minutes = self.cfg.reference_refresh_minutes
        if not stamp or minutes <= 0:
            return False
        try:
            done = datetime.fromisoformat(stamp)
        except ValueError:
            return False
        return self.now() - done < timedelta(minutes=minutes)
