"""JSON ``$batch``: up to 20 Graph requests per HTTP call, each one throttled on its own.

A batch answers HTTP 200 even when some inner requests were throttled: those come back as
``429`` (or 503) with ``Retry-After`` in their own headers. :func:`run_batch` resends only the
throttled ones, after the longest ``Retry-After`` among them, until they succeed or the
connector's retry budget is spent; every other inner answer is returned as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collabhub.errors import Action
from collabhub.http import json_body

from .errors import classify_parts

if TYPE_CHECKING:
    from .connector import M365Connector

__all__ = ["BatchItem", "BatchReply", "run_batch"]


@dataclass
class BatchItem:
    """One inner request; ``url`` is relative to the Graph version root (``/users/…``)."""

    id: str
    method: str
    url: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    mailbox: str | None = None

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "method": self.method, "url": self.url}
        headers = dict(self.headers)
        if self.body is not None:
            out["body"] = self.body
            headers.setdefault("Content-Type", "application/json")
        if headers:
            out["headers"] = headers
        return out


@dataclass
class BatchReply:
    id: str
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _retryable(reply: BatchReply) -> bool:
    action = classify_parts(reply.status, reply.headers, reply.body).action
    return action in (Action.RATE_LIMITED, Action.RETRY)


async def _send(connector: M365Connector, items: Sequence[BatchItem]) -> list[BatchReply]:
    mailboxes = sorted({i.mailbox for i in items if i.mailbox})
    response = await connector.request("POST", "/$batch", json={"requests": [i.wire() for i in items]},
                                       mailboxes=mailboxes, cost=len(items))
    replies = []
    for raw in (json_body(response, connector=connector.name) or {}).get("responses") or []:
        headers = {str(k): str(v) for k, v in (raw.get("headers") or {}).items()}
        replies.append(BatchReply(str(raw.get("id")), int(raw.get("status") or 0), headers, raw.get("body")))
    return replies


async def run_batch(connector: M365Connector, items: Sequence[BatchItem]) -> dict[str, BatchReply]:
    """Send ``items`` in batches of ``config.batch_size``; retry inner 429/5xx; replies by item id."""
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise ValueError("batch item ids must be unique")
    size = connector.config.batch_size
    pending = list(items)
    replies: dict[str, BatchReply] = {}
    settings = connector.config.http
    for attempt in range(settings.max_retries + 1):
        for start in range(0, len(pending), size):
            for reply in await _send(connector, pending[start:start + size]):
                replies[reply.id] = reply
        again = [i for i in pending if i.id in replies and _retryable(replies[i.id])]
        if not again or attempt == settings.max_retries:
            break
        waits = [classify_parts(replies[i.id].status, replies[i.id].headers, replies[i.id].body).retry_after
                 for i in again]
        wait = max((w for w in waits if w is not None), default=min(settings.max_wait, 0.5 * 2 ** attempt))
        connector.log.info("%d of %d batch requests throttled; resending them in %.1fs", len(again), len(pending),
                           wait)
        await asyncio.sleep(min(wait, settings.max_wait))
        pending = again
    return replies


def reply_json(reply: BatchReply) -> Mapping[str, Any]:
    return reply.body if isinstance(reply.body, Mapping) else {}
