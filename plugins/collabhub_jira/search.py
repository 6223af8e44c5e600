"""Issue search for both deployments, one page (one API call) at a time.

* Cloud: ``POST /rest/api/3/search/jql``, chained by ``nextPageToken`` until ``isLast``. The token is
  only ever used inside one read; the stream's cursor is built from the records themselves.
* Data Center: ``POST /rest/api/2/search`` with ``startAt``/``maxResults``. Each page re-anchors the
  window at the last ``updated`` seen (``updated >= last``, ``startAt`` = issues already read at
  that very millisecond), so ``startAt`` stays far below the result window (10,000 by default) and
  an issue that moves during the read cannot shift unseen issues out of reach.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from collabhub.http import NextTokenPaginator, PageRequest, Paginator, json_body, paginate
from collabhub_jira import jql
from collabhub_jira.mapping import updated_ms

if TYPE_CHECKING:
    from collabhub_jira.connector import JiraConnector

__all__ = ["IssueSearch", "WindowPaginator", "read_ahead"]

T = TypeVar("T")


async def read_ahead(source: AsyncIterator[T]) -> AsyncIterator[T]:
    """Ask for the next page while the caller works on this one (normalises and commits it).

    The next request only needs the page in hand (its token or last ``updated``), so the remote
    serves page k+1 while the engine stores page k. If the caller stops early, the request in
    flight is cancelled.
    """
    pending: asyncio.Future[T] = asyncio.ensure_future(anext(source))
    try:
        while True:
            try:
                item = await pending
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(anext(source))
            yield item
    finally:
        if not pending.done():
            pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


class WindowPaginator(Paginator):
    """Data Center paging: ``startAt`` inside a time window that moves with the data (see module doc)."""

    def next_request(self, body: Mapping[str, Any], current: PageRequest) -> PageRequest | None:
        issues = body.get("issues") or []
        start = int(current.params.get("startAt", 0))
        total = int(body.get("total", 0))
        if not issues or start + len(issues) >= total:
            return None
        last = updated_ms(issues[-1])
        since = int(current.params["since"])
        if last == since:
            return PageRequest({**current.params, "startAt": start + len(issues)})
        same = sum(1 for issue in issues if updated_ms(issue) == last)
        return PageRequest({**current.params, "since": last, "startAt": same})


class IssueSearch:
    """Pages of raw issues for ``scope AND updated >= since ORDER BY updated ASC, key ASC``."""

    def __init__(self, connector: JiraConnector) -> None:
        self.connector = connector
        self.config = connector.config

    @property
    def scope(self) -> str | None:
        return jql.scope(self.config.projects, self.config.jql)

    async def pages(self, since_ms: int, fields: Sequence[str], page_size: int) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield each page's issues (possibly an empty list) in ``(updated, key)`` order, one page read ahead."""
        pages = self._cloud if self.config.cloud else self._datacenter
        async with contextlib.aclosing(read_ahead(pages(since_ms, fields, page_size))) as ahead:
            async for issues in ahead:
                yield issues

    async def _cloud(self, since_ms: int, fields: Sequence[str], page_size: int) -> AsyncIterator[list[dict[str, Any]]]:
        url = self.connector.api("search/jql")
        first = PageRequest({"jql": jql.window(self.scope, since_ms), "fields": list(fields),
                             "maxResults": page_size})

        async def fetch(request: PageRequest) -> Mapping[str, Any]:
            response = await self.connector.request("POST", url, json=dict(request.params))
            return json_body(response, connector=self.connector.name)

        paginator = NextTokenPaginator("nextPageToken", is_last_field="isLast")
        async with contextlib.aclosing(paginate(fetch, paginator, first)) as bodies:
            async for _, body in bodies:
                yield list(body.get("issues") or [])

    async def _datacenter(self, since_ms: int, fields: Sequence[str], page_size: int
                          ) -> AsyncIterator[list[dict[str, Any]]]:
        url = self.connector.api("search")
        wanted = list(dict.fromkeys([*fields, "updated"]))
        first = PageRequest({"since": since_ms, "startAt": 0, "maxResults": min(page_size, 1000)})

        async def fetch(request: PageRequest) -> Mapping[str, Any]:
            body = {"jql": jql.window(self.scope, int(request.params["since"])), "fields": wanted,
                    "startAt": request.params["startAt"], "maxResults": request.params["maxResults"],
                    "validateQuery": "strict"}
            response = await self.connector.request("POST", url, json=body)
            return json_body(response, connector=self.connector.name)

        async with contextlib.aclosing(paginate(fetch, WindowPaginator(), first)) as bodies:
            async for _, body in bodies:
                yield list(body.get("issues") or [])

    async def by_ids(self, ids: Sequence[str], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Current state of these issues: Cloud ``issue/bulkfetch`` (100 a call), DC a JQL ``id in``."""
        out: list[dict[str, Any]] = []
        for start in range(0, len(ids), 100):
            chunk = [str(i) for i in ids[start:start + 100]]
            if self.config.cloud:
                response = await self.connector.request("POST", self.connector.api("issue/bulkfetch"),
                                                        json={"issueIdsOrKeys": chunk, "fields": list(fields)})
            else:
                response = await self.connector.request("POST", self.connector.api("search"), json={
                    "jql": jql.by_ids(None, chunk), "fields": list(fields), "startAt": 0, "maxResults": 100})
            out.extend(json_body(response, connector=self.connector.name).get("issues") or [])
        return out

    async def changelogs(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Status histories from ``POST /rest/api/3/changelog/bulkfetch`` (Cloud; 1000 issues a call)."""
        out: dict[str, list[dict[str, Any]]] = {}
        url = self.connector.api("changelog/bulkfetch")
        for start in range(0, len(ids), 1000):
            first = PageRequest({"issueIdsOrKeys": list(ids[start:start + 1000]), "fieldIds": ["status"],
                                 "maxResults": 1000})

            async def fetch(request: PageRequest) -> Mapping[str, Any]:
                response = await self.connector.request("POST", url, json=dict(request.params))
                return json_body(response, connector=self.connector.name)

            async with contextlib.aclosing(paginate(fetch, NextTokenPaginator("nextPageToken"), first)) as bodies:
                async for _, body in bodies:
                    for entry in body.get("issueChangeLogs") or []:
                        out.setdefault(str(entry.get("issueId")), []).extend(entry.get("changeHistories") or [])
        return out
