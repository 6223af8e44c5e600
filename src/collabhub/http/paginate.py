"""Reusable paginators. A stream picks one instead of writing its own loop.

Each paginator answers one question: given the body of the page just read and the parameters
that fetched it, what fetches the next page (``None`` when there is none)? ``paginate()`` drives
the loop; the stream only fetches one page and parses it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LinkPaginator", "NextTokenPaginator", "OffsetPaginator", "PageRequest", "Paginator", "paginate"]


@dataclass(frozen=True)
class PageRequest:
    """What to fetch: query/body parameters, or a full URL the remote handed us."""

    params: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None


def _dig(body: Mapping[str, Any], path: str) -> Any:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class Paginator(ABC):
    @abstractmethod
    def next_request(self, body: Mapping[str, Any], current: PageRequest) -> PageRequest | None:
        """The request for the page after ``body``, or ``None`` at the end."""


class NextTokenPaginator(Paginator):
    """Opaque continuation tokens (Jira ``nextPageToken``, Feishu ``page_token``, DingTalk ``nextToken``).

    Stops when the token is missing or empty, when ``is_last_field`` is true, or when
    ``has_more_field`` is false.
    """

    def __init__(self, token_field: str = "nextPageToken", param: str | None = None, *,
                 is_last_field: str | None = None, has_more_field: str | None = None) -> None:
        self.token_field = token_field
        self.param = param or token_field.rsplit(".", 1)[-1]
        self.is_last_field = is_last_field
        self.has_more_field = has_more_field

    def next_request(self, body: Mapping[str, Any], current: PageRequest) -> PageRequest | None:
        if self.is_last_field and _dig(body, self.is_last_field) is True:
            return None
        if self.has_more_field is not None and not _dig(body, self.has_more_field):
            return None
        token = _dig(body, self.token_field)
        if token in (None, "", 0):
            return None
        return PageRequest({**current.params, self.param: token}, current.url)


class OffsetPaginator(Paginator):
    """``startAt``/``maxResults`` style paging; stops on a short page or past ``total``.

    The effective page size is read from the page itself (servers silently cap ``maxResults``).
    """

    def __init__(self, start_param: str = "startAt", size_param: str = "maxResults", *,
                 items_field: str = "issues", total_field: str | None = "total") -> None:
        self.start_param = start_param
        self.size_param = size_param
        self.items_field = items_field
        self.total_field = total_field

    def next_request(self, body: Mapping[str, Any], current: PageRequest) -> PageRequest | None:
        items = _dig(body, self.items_field) or []
        start = int(current.params.get(self.start_param, 0))
        nxt = start + len(items)
        if not items:
            return None
        total = _dig(body, self.total_field) if self.total_field else None
        if total is not None and nxt >= int(total):
            return None
        requested = current.params.get(self.size_param)
        if total is None and requested is not None and len(items) < int(requested):
            return None
        return PageRequest({**current.params, self.start_param: nxt}, current.url)


class LinkPaginator(Paginator):
    """The next page is a full URL in the body (Graph ``@odata.nextLink``)."""

    def __init__(self, next_field: str = "@odata.nextLink") -> None:
        self.next_field = next_field

    def next_request(self, body: Mapping[str, Any], current: PageRequest) -> PageRequest | None:
        link = body.get(self.next_field)
        return PageRequest({}, link) if link else None


async def paginate(
    fetch: Callable[[PageRequest], Awaitable[Mapping[str, Any]]],
    paginator: Paginator,
    first: PageRequest,
    *,
    max_pages: int | None = None,
) -> AsyncIterator[tuple[PageRequest, Mapping[str, Any]]]:
    """Yield ``(request, body)`` for each page until the paginator says stop.

    A repeated continuation (the remote handing back the same token) ends the loop rather than
    spinning forever.
    """
    request: PageRequest | None = first
    seen: set[tuple] = set()
    pages = 0
    while request is not None:
        marker = (request.url, tuple(sorted((k, str(v)) for k, v in request.params.items())))
        if marker in seen:
            raise RuntimeError(f"paginator loop: the remote returned the same page request twice ({marker})")
        seen.add(marker)
        body = await fetch(request)
        yield request, body
        pages += 1
        if max_pages is not None and pages >= max_pages:
            return
        request = paginator.next_request(body, request)
