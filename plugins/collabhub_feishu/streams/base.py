"""What every Feishu stream shares: typed access to the connector, paging, freshness of cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from collabhub.connector import Page, Stream
from collabhub_feishu.errors import skip_codes

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

    async def full_pass(self, cursor: Mapping[str, Any] | None, path: str, params: Mapping[str, Any], *,
                        id_key: str, items_key: str = "items",
                        on_complete: Callable[[list[str]], None] | None = None) -> AsyncIterator[Page]:
        """Re-read one paged reference list in full, at most every ``reference_refresh_minutes``.

        Cursor: ``{"page_token"}`` mid-pass, ``{"completed_at"}`` after it. A pass that ran from the
        start ends with a sweep of the ids seen (and ``on_complete(ids)``); a resumed pass does neither.
        """
        cursor = cursor or {}
        if self.fresh(cursor.get("completed_at")):
            return
        resumed = bool(cursor.get("page_token"))
        seen: list[str] = []
        async for items, token in pages(self.connector, "GET", path, params, items_key=items_key,
                                        page_token=cursor.get("page_token")):
            seen.extend(str(i.get(id_key)) for i in items)
            if token:
                yield Page(records=items, cursor={"page_token": token})
            else:
                if not resumed and on_complete is not None:
                    on_complete(seen)
                yield Page(records=items, cursor={"completed_at": self.now().isoformat()},
                           sweep=None if resumed else frozenset(seen))

    async def fetch_each(self, external_ids: Sequence[str], path: str, params: Mapping[str, Any], *,
                         data_key: str, gone_codes: Sequence[int]) -> AsyncIterator[Page]:
        """Read single objects by id (``path`` formatted with ``id``); one answering ``gone_codes`` is deleted."""
        for external_id in external_ids:
            body = await self.connector.call("GET", path.format(id=external_id), params=params,
                                             classify=skip_codes(*gone_codes))
            item = (body.get("data") or {}).get(data_key)
            yield Page(records=[item]) if body.get("code") == 0 and item else Page(deleted=[external_id])
