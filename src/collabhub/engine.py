"""The sync engine: pull -> normalize -> resolve -> store -> rules -> outbox -> dispatch.

One run of one connector:

1. take the connector's lease in the store (runs of one connector never overlap, across
   processes and machines; a lease left by a killed process on this host is taken over);
2. let the connector do its upkeep (``maintain``), then serve queued targeted re-pulls;
3. for each stream, read pages from the saved cursor; normalise each record (a record that
   fails mapping is quarantined, the run goes on); resolve identities and departments; commit
   the page's entities, change records and the stream's new cursor in ONE transaction;
4. stop between pages when asked (SIGTERM): the page in hand is committed first.

While a page commits (in a worker thread), the stream's next pages are already being read
(``READ_AHEAD`` at most), so network waits overlap the store's work; pages still commit one at a
time and in order.

Killed at any point, the next run resumes from the last committed page: nothing lost (the
cursor never runs ahead of committed entities) and nothing doubled (upserts by key, content
hashes decide whether anything changed).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from collabhub.connector import Connector, ConnectorContext, Page, Stream
from collabhub.errors import CollabhubError, ConnectorError, MappingError, QuotaExhaustedError
from collabhub.identity import IdentityResolver, IdentityStats
from collabhub.model import Entity, EntityKind
from collabhub.store.rows import PageStats
from collabhub.store.slots import StoreSendSlots

if TYPE_CHECKING:
    from collabhub.config import HubConfig
    from collabhub.plugins import PluginHost
    from collabhub.store import Store

__all__ = ["Engine", "HubSink", "RunSummary", "StreamSummary"]

log = logging.getLogger(__name__)

LOCK_TTL = 300.0
LOCK_RENEW_AFTER = timedelta(seconds=LOCK_TTL / 3)  # renew once a third of the lease has passed
DISPATCH_BATCH = 500  # outbox rows claimed at a time
READ_AHEAD = 2  # pages read that may wait while the page before them commits


_frozen_runs = 0  # runs inside _heap_frozen (runs may overlap in one process)
_thresholds: tuple[int, ...] = gc.get_threshold()  # the collector's thresholds outside runs
RUN_GC_THRESHOLD = 20_000  # young-generation threshold during runs


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the long-lived heap (modules, schemas, pools) out of garbage collection during a run.

    A run allocates millions of short-lived objects; every full collection would also walk the
    whole startup heap (a fifth of a run's time). ``gc.freeze`` parks what exists now for the
    run, ``gc.unfreeze`` hands it back to the collector afterwards: nothing leaks past a run.
    A page's objects live until the page is committed, so the young generation is collected
    every ``RUN_GC_THRESHOLD`` allocations instead of every 700 (fewer instructions per entity);
    at 50,000 the cyclic garbage of an HTTP-heavy run (bench/m365) grew peak RSS by 50 MB, at
    20,000 it does not. The thresholds are restored after the run.
    """
    global _frozen_runs, _thresholds
    if _frozen_runs == 0:
        gc.freeze()
        _thresholds = gc.get_threshold()
        gc.set_threshold(RUN_GC_THRESHOLD, *_thresholds[1:])
    _frozen_runs += 1
    try:
        yield
    finally:
        _frozen_runs -= 1
        if _frozen_runs == 0:
            gc.unfreeze()
            gc.set_threshold(*_thresholds)


@dataclass
class StreamSummary(PageStats):
    """One stream's totals in a run: the pages' ``PageStats`` summed, pages read, and its error."""

    pages: int = 0
    error: str | None = None

    def add(self, stats: PageStats) -> None:
        for name, value in stats.as_dict().items():
            setattr(self, name, getattr(self, name) + value)
        self.pages += 1

    def counts(self) -> dict[str, int]:
        """The counters (page totals and pages), for the run record."""
        return {f.name: getattr(self, f.name) for f in fields(PageStats)} | {"pages": self.pages}


@dataclass
class RunSummary:
    connector: str
    status: str  # ok | partial | failed | interrupted | skipped
    run_id: int | None = None
    streams: dict[str, StreamSummary] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    api_calls: int = 0
    seconds: float = 0.0
    identity: IdentityStats = field(default_factory=IdentityStats)

    def total(self, name: str) -> int:
        return sum(getattr(s, name) for s in self.streams.values())


@dataclass
class _ReadFailed:
    """The reader's error, queued behind the pages it read before failing."""

    error: Exception


class HubSink:
    """The engine's side of ``WebhookSink``: webhook receivers record through the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def first_seen(self, source: str, event_id: str) -> bool:
        return await asyncio.to_thread(self.store.first_seen, source, event_id)

    async def request_refresh(self, connector: str, kind: EntityKind, external_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.store.request_refresh, connector, str(kind), list(external_ids))

    async def request_resync(self, connector: str, stream: str, reason: str, scope: str | None = None) -> None:
        log.info("resync of %s/%s requested: %s", connector, stream, reason)
        if scope is None:
            await asyncio.to_thread(self.store.set_cursor, connector, stream, None)
            return
        cursor = await asyncio.to_thread(self.store.get_cursor, connector, stream) or {}
        scopes = dict(cursor.get("scopes", {})) if isinstance(cursor.get("scopes"), dict) else {}
        scopes.pop(scope, None)
        await asyncio.to_thread(self.store.set_cursor, connector, stream, {**cursor, "scopes": scopes})

    async def mark_deleted(self, connector: str, kind: EntityKind, external_ids: Sequence[str]) -> None:
        await asyncio.to_thread(
            self.store.apply_page, connector=connector, stream="webhook", run_id=None, entities=[],
            deleted=[(kind, e) for e in external_ids])

    async def record_event(self, connector: str, event_type: str, payload: Mapping[str, Any]) -> None:
        await asyncio.to_thread(self.store.record_event, connector, event_type, payload)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_dead(owner: str | None) -> bool:
    """True when the lease holder is a process of this host that no longer exists."""
    if not owner:
        return False
    try:
        host, pid, _ = owner.split(":", 2)
        pid_num = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid_num, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Engine:
    """Runs connectors against a store. One instance per process; holds no cross-run state."""

    def __init__(
        self,
        config: HubConfig,
        store: Store,
        host: PluginHost,
        *,
        context_factory: Callable[[str], ConnectorContext] | None = None,
        stop: asyncio.Event | None = None,
        on_page: Callable[[str, str, StreamSummary], None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.host = host
        self.sink = HubSink(store)
        self.identity = IdentityResolver(store, config, host)
        self._context_factory = context_factory
        self._connectors: dict[str, Connector] = {}
        self.stop = stop or asyncio.Event()
        self.on_page = on_page
        self.owner = _owner()
        self._identity_synced = False
        self._lease_renewed: dict[str, datetime] = {}  # lock -> store time of the last take/renewal
        self._rules: Any = None  # the compiled rules, built on first use

    # -- connectors ------------------------------------------------------------------------

    def connector(self, name: str) -> Connector:
        """The connector instance for a config entry (built once per engine)."""
        if name not in self._connectors:
            entry = self.config.connectors[name]
            cls = self.host.connector_class(entry.type)
            if self._context_factory:
                context = self._context_factory(name)
            else:  # send-rate windows shared with every process on this store
                context = ConnectorContext(send_slots=StoreSendSlots(self.store))
            self._connectors[name] = cls(name, entry.config, context)
        return self._connectors[name]

    def enabled(self, names: Sequence[str] | None = None) -> list[str]:
        entries = self.config.connectors
        if names:
            unknown = [n for n in names if n not in entries]
            if unknown:
                from collabhub.errors import ConfigError

                raise ConfigError(f"no connector named {', '.join(unknown)} in the config",
                                  hint=f"configured: {', '.join(sorted(entries)) or 'none'}")
            return list(names)
        return [n for n, e in entries.items() if e.enabled]

    async def aclose(self) -> None:
        for connector in self._connectors.values():
            try:
                await connector.aclose()
            except Exception:  # closing must never mask the run's own outcome
                log.exception("closing connector %s failed", connector.name)
        self._connectors.clear()

    # -- one cycle -------------------------------------------------------------------------

    async def sync(self, names: Sequence[str] | None = None, *, rules: bool = True) -> list[RunSummary]:
        """Run the named (or all enabled) connectors one after another, then rules and dispatch."""
        summaries = []
        for name in self.enabled(names):
            if self.stop.is_set():
                break
            summaries.append(await self.run_connector(name))
        if rules and not self.stop.is_set():
            await self.run_rules()
        return summaries

    async def run_rules(self) -> dict[str, Any]:
        """Plan deliveries from the new changes and push the outbox (when rules are configured)."""
        if not getattr(self.config, "sharing", None):
            return {}
        try:
            from collabhub.rules import RulesEngine
        except ImportError:  # rules not installed in this build
            return {}
        if self._rules is None:
            self._rules = RulesEngine(self.config, self.store, host=self.host)
        rules = self._rules
        planned = await asyncio.to_thread(rules.plan)
        connectors = {name: self.connector(name) for name in self.enabled()}
        dispatched = await rules.dispatch(connectors, limit=DISPATCH_BATCH)
        while dispatched.claimed and not self.stop.is_set():  # drain what is due, batch by batch
            more = await rules.dispatch(connectors, limit=DISPATCH_BATCH)
            if not more.claimed:
                break
            for name in ("claimed", "sent", "retried", "parked"):
                setattr(dispatched, name, getattr(dispatched, name) + getattr(more, name))
            dispatched.errors.extend(more.errors)
        return {"planned": planned, "dispatched": dispatched}

    async def run_connector(self, name: str, *, trigger: str = "manual") -> RunSummary:
        """One run of one connector; never raises for remote or mapping trouble (see the summary)."""
        with _heap_frozen():
            return await self._run_connector(name, trigger)

    async def _run_connector(self, name: str, trigger: str) -> RunSummary:
        started = time.monotonic()
        lock = f"connector:{name}"
        if not await asyncio.to_thread(self._acquire, lock):
            log.info("connector %s is already running elsewhere; skipped", name)
            return RunSummary(name, "skipped", errors=["another run of this connector holds the lease"])
        if not self._identity_synced:
            await asyncio.to_thread(self.identity.sync_config)
            self._identity_synced = True
        run_id = await asyncio.to_thread(self.store.start_run, name, trigger=trigger)
        summary = RunSummary(name, "ok", run_id)
        connector: Connector | None = None
        try:
            connector = self.connector(name)
            calls_before = connector.api_calls
            await connector.maintain(self.sink)
            await self._refreshes(connector, summary, lock)
            for stream in connector.streams():
                if self.stop.is_set():
                    summary.status = "interrupted"
                    break
                try:
                    await self._run_stream(connector, stream, summary, lock)
                except QuotaExhaustedError as exc:
                    summary.streams.setdefault(stream.name, StreamSummary()).error = str(exc)
                    summary.errors.append(f"{stream.name}: {exc} (run stopped, cursor kept; it resumes later)")
                    summary.status = "partial"
                    break
                except (ConnectorError, CollabhubError) as exc:
                    summary.streams.setdefault(stream.name, StreamSummary()).error = str(exc)
                    summary.errors.append(f"{stream.name}: {exc}")
                    summary.status = "partial"
                if self.stop.is_set():
                    summary.status = "interrupted"
                    break
            summary.api_calls = connector.api_calls - calls_before
        except CollabhubError as exc:
            summary.errors.append(str(exc))
            summary.status = "failed"
        except Exception as exc:  # a bug in a plugin must not take the daemon down
            log.exception("connector %s crashed", name)
            summary.errors.append(f"unexpected {type(exc).__name__}: {exc}")
            summary.status = "failed"
        finally:
            if summary.status == "partial" and summary.streams and all(s.error for s in summary.streams.values()):
                summary.status = "failed"
            summary.seconds = time.monotonic() - started
            counts = {s: v.counts() for s, v in summary.streams.items()}
            await asyncio.to_thread(self.store.finish_run, run_id, status=summary.status, counts=counts,
                                    errors=summary.errors)
            await asyncio.to_thread(self.store.release_lock, lock, self.owner)
            self.host.run_finished(connector=name, run_id=run_id, status=summary.status, counts=counts)
        return summary

    def _acquire(self, lock: str) -> bool:
        self._lease_renewed[lock] = self.store.now()
        if self.store.acquire_lock(lock, self.owner, LOCK_TTL):
            return True
        lock_owner = getattr(self.store, "lock_owner", None)
        holder = lock_owner(lock) if lock_owner else None
        if _owner_dead(holder):
            log.warning("taking over the lease of %s from dead process %s", lock, holder)
            self.store.release_lock(lock, holder)
            if not self.store.acquire_lock(lock, self.owner, LOCK_TTL):
                return False
            connector = lock.split(":", 1)[1]
            for run in self.store.recent_runs(connector=connector, limit=20):
                if run.status == "running":
                    self.store.finish_run(run.id, status="interrupted", counts=run.counts or {},
                                          errors=[*(run.errors or []), f"process {holder} died mid-run; "
                                                  "the next run resumed from the last committed page"])
            return True
        return False

    async def _refreshes(self, connector: Connector, summary: RunSummary, lock: str) -> None:
        """Serve targeted re-pulls queued by webhooks."""
        requests = await asyncio.to_thread(self.store.take_refresh_requests, connector.name)
        if not requests:
            return
        by_kind: dict[str, list[str]] = {}
        for kind, ext in requests:
            by_kind.setdefault(kind, []).append(ext)
        for stream in connector.streams():
            ids = by_kind.pop(str(stream.kind), None)
            if not ids:
                continue
            try:
                async for page in stream.fetch(ids):
                    await self._commit(connector, stream, page, summary, lock, keep_cursor=True)
            except NotImplementedError:
                log.info("stream %s cannot re-pull single objects; the next full read covers them", stream.name)
            except ConnectorError as exc:
                summary.errors.append(f"{stream.name} (re-pull): {exc}")
                await asyncio.to_thread(self.store.request_refresh, connector.name, str(stream.kind), ids)

    async def _run_stream(self, connector: Connector, stream: Stream, summary: RunSummary, lock: str) -> None:
        """Read pages ahead while the previous page commits (in order, one at a time).

        Reading (network waits) runs on the event loop while normalising, identity and the store
        work in a thread. At most ``READ_AHEAD`` pages wait; a page is never committed out of
        order, a reader error surfaces after the pages read before it are committed, and a stop
        request commits the page in hand and drops the pages read ahead (their cursor was not
        saved, so the next run reads them again).
        """
        cursor = await asyncio.to_thread(self.store.get_cursor, connector.name, stream.name)
        summary.streams.setdefault(stream.name, StreamSummary())
        queue: asyncio.Queue[Page | _ReadFailed | None] = asyncio.Queue(maxsize=READ_AHEAD)

        async def produce() -> None:
            pages = stream.read(cursor)
            try:
                async for page in pages:
                    await queue.put(page)
            except Exception as exc:  # handed to the committing side, in order
                await queue.put(_ReadFailed(exc))
                return
            finally:
                await pages.aclose()  # type: ignore[attr-defined]
            await queue.put(None)

        reader = asyncio.create_task(produce(), name=f"read {connector.name}/{stream.name}")
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, _ReadFailed):
                    raise item.error
                await self._commit(connector, stream, item, summary, lock)
                if self.stop.is_set():
                    break
        finally:
            if not reader.done():
                reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _commit(self, connector: Connector, stream: Stream, page: Page, summary: RunSummary, lock: str,
                      *, keep_cursor: bool = False) -> None:
        kind = page.deleted_kind or stream.kind

        def normalize_resolve_store() -> PageStats:  # one thread hop per page
            entities, quarantine = self._normalize(connector.name, stream, page.records)
            summary.identity += self.identity.resolve(connector.name, entities)
            stats = self.store.apply_page(
                connector=connector.name, stream=stream.name, run_id=summary.run_id, entities=entities,
                deleted=[(kind, d) for d in page.deleted],
                sweep=(kind, page.sweep) if page.sweep is not None else None,
                quarantine=quarantine,
                cursor=None if keep_cursor else page.cursor,
            )
            now = self.store.now()
            if now - self._lease_renewed.get(lock, now - LOCK_RENEW_AFTER) >= LOCK_RENEW_AFTER:
                self.store.renew_lock(lock, self.owner, LOCK_TTL)
                self._lease_renewed[lock] = now
            return stats

        stats = await asyncio.to_thread(normalize_resolve_store)
        stream_summary = summary.streams.setdefault(stream.name, StreamSummary())
        stream_summary.add(stats)
        if self.on_page:
            self.on_page(connector.name, stream.name, stream_summary)

    def _normalize(self, connector: str, stream: Stream, records: Sequence[Any]) -> tuple[list[Entity], list[Any]]:
        from collabhub.store import QuarantineItem

        entities: list[Entity] = []
        quarantine: list[QuarantineItem] = []
        for record in records:
            try:
                produced = list(stream.normalize(record))
                for entity in produced:
                    if entity.source.connector != connector:
                        raise MappingError(f"entity claims connector {entity.source.connector!r}, "
                                           f"expected {connector!r}")
            except (MappingError, ValidationError, ValueError, LookupError, TypeError, AttributeError) as exc:
                reason = str(exc) if isinstance(exc, MappingError) else f"{type(exc).__name__}: {exc}"
                quarantine.append(QuarantineItem(external_id=_safe_id(stream, record), reason=reason[:2000],
                                                 raw=record))
                continue
            entities.extend(produced)
        return entities, quarantine


def _safe_id(stream: Stream, record: Any) -> str | None:
    try:
        return stream.record_id(record)
    except Exception:
        return None
