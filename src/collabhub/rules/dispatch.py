"""The dispatcher: drains the outbox through each target connector's writer.

For every due outbox row: find the writer for its channel, pass the Link of the object written
before for the same (entity, channel, receiver) so the writer edits it in place, and on success
record the Link and the audit row (``mark_sent``). A failure is retried with exponential backoff
(``mark_failed``), and parked after ``max_attempts`` or at once when retrying cannot help
(``DeliveryError(retryable=False)``, ``WorkflowError``, a missing connector or writer).

Writers that offer ``deliver_many(deliveries) -> [DeliveryResult | DeliveryError]`` get up to
:data:`BATCH` rows at once (Microsoft Graph ``$batch``); each result is recorded on its own row.

A row whose worker died mid-delivery is claimed again after its lease; the writer then sees the
same idempotency key and finds the object it already made, so a delivery is made once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from collabhub.connector import Connector, Delivery, DeliveryResult, Writer
from collabhub.errors import Action, ConnectorError, DeliveryError
from collabhub.model import EntityKind, Link
from collabhub.rules.items import meta_of, public_content

if TYPE_CHECKING:
    from collabhub.store import Store
    from collabhub.store.rows import OutboxRow

__all__ = ["DispatchResult", "Dispatcher", "RetryPolicy"]

log = logging.getLogger(__name__)
_MAX_ERROR = 500


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base * 2**(attempt-1)`` seconds, capped; park after ``max_attempts``."""

    max_attempts: int = 6
    base_seconds: float = 30.0
    max_seconds: float = 6 * 3600.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        backoff = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        return max(backoff, retry_after or 0.0)


@dataclass
class DispatchResult:
    """What one dispatch pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    parked: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"claimed": self.claimed, "sent": self.sent, "retried": self.retried, "parked": self.parked,
                "errors": list(self.errors)}


class _Park(Exception):
    """Retrying this delivery cannot help."""


BATCH = 20  # deliveries per ``deliver_many`` call (Microsoft Graph allows 20 requests per $batch)


@dataclass
class _Prepared:
    """A claimed row with its writer and the delivery to hand it."""

    row: OutboxRow
    meta: Mapping[str, Any]
    link_entity: tuple[str, str, str]
    link_receiver: str
    writer: Writer
    delivery: Delivery


class Dispatcher:
    """Delivers due outbox rows; see the module docstring."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 policy: RetryPolicy | None = None, lease_seconds: float = 300.0, owner: str = "rules",
                 on_delivered: Callable[[OutboxRow, DeliveryResult], None] | None = None) -> None:
        self.store = store
        self.on_delivered = on_delivered
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.lease_seconds = lease_seconds
        self.owner = owner

    async def dispatch(self, connectors: Mapping[str, Connector], *, limit: int = 500) -> DispatchResult:
        """Deliver up to ``limit`` due rows, in due order.

        Rows for a writer that offers ``deliver_many`` (e.g. Microsoft Graph ``$batch``) go out in
        groups of :data:`BATCH`; every other row is delivered on its own.
        """
        result = DispatchResult()
        writers: dict[str, dict[str, Writer]] = {}
        rows = self.store.claim_due(now=self.clock(), limit=limit, lease_seconds=self.lease_seconds,
                                    owner=self.owner)
        result.claimed = len(rows)
        batches: dict[tuple[str, str], list[_Prepared]] = {}
        for row in rows:
            prepared = self._prepare(row, connectors, writers, result)
            if prepared is None:
                continue
            if hasattr(prepared.writer, "deliver_many"):
                batches.setdefault((row.target_connector, row.channel), []).append(prepared)
                continue
            try:
                made = await prepared.writer.deliver(prepared.delivery)
            except Exception as exc:
                self._failed(row, exc, result)
                continue
            self._succeeded(prepared, made, result)
        for group in batches.values():
            for start in range(0, len(group), BATCH):
                await self._deliver_batch(group[start:start + BATCH], result)
        return result

    def _prepare(self, row: OutboxRow, connectors: Mapping[str, Connector], writers: dict[str, dict[str, Writer]],
                 result: DispatchResult) -> _Prepared | None:
        meta = meta_of(row.content)
        link_entity, link_receiver = _link_key(row, meta)
        try:
            writer = self._writer(row, connectors, writers)
        except _Park as exc:
            self._park(row, str(exc), result)
            return None
        link = self.store.get_link(entity_connector=link_entity[0], entity_kind=link_entity[1],
                                   entity_external_id=link_entity[2], target_connector=row.target_connector,
                                   channel=row.channel, receiver=link_receiver)
        delivery = Delivery(idempotency_key=row.idempotency_key, channel=row.channel, target=dict(row.target),
                            content=public_content(row.content), entity=None, link=link)
        return _Prepared(row, meta, link_entity, link_receiver, writer, delivery)

    async def _deliver_batch(self, group: list[_Prepared], result: DispatchResult) -> None:
        try:
            outcomes = await group[0].writer.deliver_many([p.delivery for p in group])  # type: ignore[attr-defined]
        except Exception as exc:  # the whole batch failed: each row backs off on its own
            for prepared in group:
                self._failed(prepared.row, exc, result)
            return
        for prepared, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._failed(prepared.row, outcome, result)
            else:
                self._succeeded(prepared, outcome, result)

    def _failed(self, row: OutboxRow, exc: BaseException, result: DispatchResult) -> None:
        """Retry with backoff, or park when retrying cannot help."""
        if isinstance(exc, _Park):
            self._park(row, str(exc), result)
        elif isinstance(exc, DeliveryError):
            if not exc.retryable:
                self._park(row, f"{type(exc).__name__}: {exc}", result)
            else:
                self._retry(row, f"{type(exc).__name__}: {exc}", exc.retry_after, result)
        elif isinstance(exc, ConnectorError):
            if exc.resolution.action is Action.FAIL:
                self._park(row, f"{type(exc).__name__}: {exc}", result)
            else:
                self._retry(row, f"{type(exc).__name__}: {exc}", exc.resolution.retry_after, result)
        else:  # timeouts, connection resets, writer bugs: retry with backoff
            self._retry(row, f"{type(exc).__name__}: {exc}", None, result)

    def _succeeded(self, prepared: _Prepared, made: DeliveryResult, result: DispatchResult) -> None:
        row, meta, link_entity = prepared.row, prepared.meta, prepared.link_entity
        self.store.upsert_link(Link(
            entity_connector=link_entity[0], entity_kind=EntityKind(link_entity[1]),
            entity_external_id=link_entity[2], target_connector=row.target_connector, channel=row.channel,
            receiver=prepared.link_receiver, target_external_id=made.external_id, target_url=made.url,
            fingerprint=made.fingerprint,
        ))
        detail = {k: v for k, v in meta.items() if k not in ("link", "fields", "cap")}
        detail["content"] = public_content(row.content)
        if made.detail:
            detail["result"] = made.detail
        self.store.mark_sent(row.id, external_id=made.external_id, url=made.url,
                             fields_sent=list(meta.get("fields") or []), detail=detail)
        result.sent += 1
        if self.on_delivered is not None:
            self.on_delivered(row, made)

    def _writer(self, row: OutboxRow, connectors: Mapping[str, Connector],
                writers: dict[str, dict[str, Writer]]) -> Writer:
        connector = connectors.get(row.target_connector)
        if connector is None:
            raise _Park(f"connector {row.target_connector!r} is not configured or not enabled; "
                        "fix the config, then requeue the parked delivery")
        if row.target_connector not in writers:
            writers[row.target_connector] = connector.writers()
        writer = writers[row.target_connector].get(row.channel)
        if writer is None:
            have = ", ".join(sorted(writers[row.target_connector])) or "none"
            raise _Park(f"connector {row.target_connector!r} ({connector.type}) cannot write {row.channel!r} "
                        f"deliveries (it writes: {have}); change the rule's deliver channel")
        return writer

    def _retry(self, row: OutboxRow, error: str, retry_after: float | None, result: DispatchResult) -> None:
        error = error[:_MAX_ERROR]
        if row.attempts >= self.policy.max_attempts:
            self._park(row, f"gave up after {row.attempts} attempts: {error}", result)
            return
        wait = self.policy.delay(row.attempts, retry_after)
        self.store.mark_failed(row.id, error=error, next_attempt_at=self.clock() + timedelta(seconds=wait))
        result.retried += 1
        log.info("delivery %s to %s failed (attempt %d), retrying in %.0fs: %s",
                 row.id, row.target_connector, row.attempts, wait, error)

    def _park(self, row: OutboxRow, error: str, result: DispatchResult) -> None:
        error = error[:_MAX_ERROR]
        self.store.park(row.id, error=error)
        result.parked += 1
        result.errors.append(f"outbox {row.id} ({row.channel} via {row.target_connector}): {error}")
        log.warning("delivery %s parked: %s", row.id, error)


def _link_key(row: OutboxRow, meta: Mapping[str, Any]) -> tuple[tuple[str, str, str], str]:
    link = meta.get("link") or {}
    entity = link.get("entity") or [row.entity_connector, row.entity_kind, row.entity_external_id]
    receiver = link.get("receiver", row.receiver)
    return (str(entity[0]), str(entity[1]), str(entity[2])), str(receiver)
