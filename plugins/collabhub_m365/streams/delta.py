"""calendarView delta over many mailboxes, one cursor scope per mailbox.

The cursor is ``{"scopes": {<mailbox>: {"link": …, "round": "open"|"done", "window": [start, end]}}}``:
``link`` is the ``@odata.nextLink`` of an unfinished round or the ``@odata.deltaLink`` of a
finished one. Mailboxes are fetched concurrently (``parallel_mailboxes``) but taken mailbox by
mailbox in scope order, and small Graph pages (of one or several mailboxes) are merged into
Pages of about ``commit_batch`` records. Each Page's cursor holds every mailbox at the last Graph
page it contains, so committing Page k and restarting loses and doubles nothing. The engine's
``request_resync(scope=<mailbox>)`` drops one mailbox's scope: that mailbox alone is read again.

``@removed`` entries are checked with a ``$batch`` of GETs: gone (404) means deleted; an event
that still exists only moved out of the window (Graph reports those as removed too), so its
current state is recorded instead of a cancellation.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from collabhub.connector import Page, Stream
from collabhub.errors import ConnectorError, RemoteError
from collabhub.http import json_body

from ..batch import BatchItem, run_batch
from ..errors import MAILBOX, RESYNC, classify
from ..mapping import MAILBOX_KEY, parse_instant
from ..paths import event_path, user_path

if TYPE_CHECKING:
    from ..connector import M365Connector

__all__ = ["MailboxDeltaStream"]


@dataclass
class _Chunk:
    mailbox: str
    records: list[dict[str, Any]]
    deleted: list[str]
    position: dict[str, Any]


@dataclass
class _Finished:
    mailbox: str
    error: BaseException | None = None


@dataclass
class _Failures:
    """Mailboxes skipped because they do not exist or have no calendar (reported at the end)."""

    messages: list[str] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class MailboxDeltaStream(Stream):
    """Base of the streams that read calendars with calendarView delta."""

    connector: M365Connector

    @abstractmethod
    async def targets(self) -> list[str]:
        """The mailbox keys (lower-case addresses) to read."""

    def keep(self, mailbox: str, event: Mapping[str, Any]) -> bool:
        """Whether an event read from ``mailbox`` is this stream's to map (default: all)."""
        return True

    def record_id(self, record: Any) -> str | None:
        return str(record.get("id")) if isinstance(record, Mapping) and record.get("id") else None

    # -- reading -----------------------------------------------------------------------------

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        connector = self.connector
        saved = (cursor or {}).get("scopes") if isinstance(cursor, Mapping) else None
        saved = saved if isinstance(saved, Mapping) else {}
        targets = await self.targets()
        state: dict[str, Any] = {k: saved[k] for k in targets if k in saved}
        window = connector.window()
        parallel = connector.config.parallel_mailboxes
        lookahead = 2 * parallel  # mailboxes fetched ahead of the one being yielded
        slots = asyncio.Semaphore(parallel)
        gates = [asyncio.Event() for _ in targets]
        queues: list[asyncio.Queue[_Chunk | _Finished]] = [asyncio.Queue(maxsize=4) for _ in targets]
        for gate in gates[:lookahead]:
            gate.set()

        async def worker(index: int, mailbox: str) -> None:
            queue = queues[index]
            try:
                await gates[index].wait()
                async with slots:
                    await self._read_mailbox(mailbox, state.get(mailbox), window, queue)
                await queue.put(_Finished(mailbox))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # handed to the consumer, which decides
                await queue.put(_Finished(mailbox, exc))

        tasks = [asyncio.create_task(worker(i, m)) for i, m in enumerate(targets)]
        failures = _Failures()
        batch = connector.config.commit_batch
        records: list[dict[str, Any]] = []
        deleted: list[str] = []
        moved = False  # a cursor change not yet yielded
        try:
            # Chunks are taken mailbox by mailbox, in scope order, while later mailboxes are
            # fetched ahead: the same remote state always produces the same page sequence.
            # Small chunks (of several mailboxes) are merged into pages of about `commit_batch`.
            for index in range(len(targets)):
                if index + lookahead < len(gates):
                    gates[index + lookahead].set()
                while True:
                    item = await queues[index].get()
                    if isinstance(item, _Finished):
                        if item.error is not None:
                            self._failed(item, failures)
                        break
                    moved = moved or state.get(item.mailbox) != item.position
                    state[item.mailbox] = item.position
                    records.extend(item.records)
                    deleted.extend(item.deleted)
                    if len(records) + len(deleted) >= batch:
                        yield Page(records=records, cursor={"scopes": dict(state)}, deleted=deleted,
                                   deleted_kind=self.kind)
                        records, deleted, moved = [], [], False
            if records or deleted or moved:
                yield Page(records=records, cursor={"scopes": dict(state)}, deleted=deleted, deleted_kind=self.kind)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if failures.messages:
            raise RemoteError(f"{len(failures.messages)} of {len(targets)} mailboxes could not be read: "
                              + "; ".join(failures.messages[:5]), connector=connector.name)

    def _failed(self, item: _Finished, failures: _Failures) -> None:
        error = item.error
        if isinstance(error, ConnectorError) and error.resolution.code == MAILBOX:
            self.connector.log.warning("%s: skipping mailbox %s: %s", self.name, item.mailbox, error)
            failures.messages.append(f"{item.mailbox}: {error}")
            return
        assert error is not None
        raise error

    def _initial(self, mailbox: str, window: tuple[datetime, datetime]) -> str:
        return (f"{user_path(mailbox)}/calendarView/delta?startDateTime={_iso(window[0])}"
                f"&endDateTime={_iso(window[1])}")

    def _resume(self, position: Any, window: tuple[datetime, datetime]) -> tuple[str, list[str]] | None:
        if not isinstance(position, Mapping) or not position.get("link"):
            return None
        stored = list(position.get("window") or [])
        if position.get("round") == "open":
            return str(position["link"]), stored
        start = parse_instant(stored[0]) if stored else None
        if start is None or window[0] - start >= timedelta(days=self.connector.config.rewindow_after_days):
            return None  # the window moved on: a new round over the new window
        return str(position["link"]), stored

    async def _read_mailbox(self, mailbox: str, position: Any, window: tuple[datetime, datetime],
                            queue: asyncio.Queue[_Chunk | _Finished]) -> None:
        connector = self.connector
        fresh = self._initial(mailbox, window)
        current = [_iso(window[0]), _iso(window[1])]
        url, used = self._resume(position, window) or (fresh, current)
        headers = {"Prefer": f"odata.maxpagesize={connector.config.page_size}"}
        resyncs = 0
        while True:
            response = await connector.request("GET", url, mailbox=mailbox, headers=headers)
            if classify(response).code == RESYNC:
                resyncs += 1
                if resyncs > 1:
                    raise RemoteError(f"delta of {mailbox} failed again right after a resync: "
                                      f"{classify(response).message}", connector=connector.name)
                connector.log.warning("%s: delta state of %s is gone; reading that mailbox in full", self.name,
                                      mailbox)
                url, used = fresh, current
                continue
            body = json_body(response, connector=connector.name)
            live = [e for e in body.get("value") or [] if "@removed" not in e]
            removed = [str(e["id"]) for e in body.get("value") or [] if "@removed" in e and e.get("id")]
            deleted: list[str] = []
            if removed:
                deleted, still_there = await self._confirm_removed(mailbox, removed)
                live.extend(still_there)
            records: list[dict[str, Any]] = []
            for event in live:
                if self.keep(mailbox, event):
                    event[MAILBOX_KEY] = mailbox  # the decoded body is ours: tagged in place, not copied
                    records.append(event)
            next_link, delta_link = body.get("@odata.nextLink"), body.get("@odata.deltaLink")
            if not next_link and not delta_link:
                raise RemoteError(f"calendarView delta of {mailbox} answered without nextLink or deltaLink",
                                  connector=connector.name)
            position = {"link": next_link or delta_link, "round": "open" if next_link else "done", "window": used}
            await queue.put(_Chunk(mailbox, records, deleted, position))
            if not next_link:
                return
            url = next_link

    async def _confirm_removed(self, mailbox: str, ids: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
        """Split ``@removed`` ids into really deleted ones and events that still exist."""
        items = [BatchItem(str(n), "GET", event_path(mailbox, event_id),
                           mailbox=mailbox) for n, event_id in enumerate(ids)]
        replies = await run_batch(self.connector, items)
        deleted, alive = [], []
        for n, event_id in enumerate(ids):
            reply = replies.get(str(n))
            if reply is None or reply.status == 404:
                deleted.append(event_id)
            elif reply.ok and isinstance(reply.body, Mapping) and reply.body.get("type") != "seriesMaster":
                alive.append(dict(reply.body))
            elif not reply.ok:
                raise RemoteError(f"checking removed event {event_id} of {mailbox} failed: HTTP {reply.status}",
                                  connector=self.connector.name)
        return deleted, alive
