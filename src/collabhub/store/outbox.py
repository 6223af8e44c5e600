"""The outbox of planned deliveries, the audit of completed ones, and links to what the hub wrote.

Outbox lifecycle: ``pending`` -> (``claim_due``) ``sending`` -> ``done`` (``mark_sent``), or back
to ``pending`` with a later ``next_attempt_at`` (``mark_failed``), or ``parked`` (``park``) until
an operator requeues it. A ``sending`` row whose lease expired (its worker died) is due again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update

from collabhub.model import EntityKind, Link
from collabhub.store.db import StoreBase, chunked
from collabhub.store.rows import OUTBOX_STATUSES, DeliveryRow, OutboxItem, OutboxRow
from collabhub.store.schema import deliveries, links, outbox

__all__ = ["OutboxMixin"]


def _outbox_row(r: Row[Any]) -> OutboxRow:
    return OutboxRow(
        id=r.id, idempotency_key=r.idempotency_key, target_connector=r.target_connector, channel=r.channel,
        target=r.target, content=r.content, rule=r.rule, receiver=r.receiver, entity_connector=r.entity_connector,
        entity_kind=r.entity_kind, entity_external_id=r.entity_external_id, entity_version=r.entity_version,
        status=r.status, attempts=r.attempts, next_attempt_at=r.next_attempt_at, lease_until=r.lease_until,
        lease_owner=r.lease_owner, last_error=r.last_error, external_id=r.external_id, url=r.url,
        created_at=r.created_at, updated_at=r.updated_at,
    )


def _link(r: Row[Any]) -> Link:
    return Link(
        entity_connector=r.entity_connector, entity_kind=EntityKind(r.entity_kind),
        entity_external_id=r.entity_external_id, target_connector=r.target_connector, channel=r.channel,
        receiver=r.receiver, target_external_id=r.target_external_id, target_url=r.target_url,
        fingerprint=r.fingerprint, created=r.created, updated=r.updated,
    )


class OutboxMixin(StoreBase):
    """Outbox, deliveries audit and links."""

    # -- outbox --------------------------------------------------------------------------

    def enqueue(self, items: Sequence[OutboxItem]) -> int:
        """Add planned deliveries; a known ``idempotency_key`` is skipped. Returns how many were new."""
        now = self.now()
        unique: dict[str, OutboxItem] = {}
        for item in items:
            unique.setdefault(item.idempotency_key, item)  # a key repeated in the batch: first one wins
        rows = [
            {
                "idempotency_key": i.idempotency_key, "target_connector": i.target_connector, "channel": i.channel,
                "target": dict(i.target), "content": dict(i.content), "rule": i.rule, "receiver": i.receiver,
                "entity_connector": i.entity_connector, "entity_kind": str(i.entity_kind),
                "entity_external_id": i.entity_external_id, "entity_version": i.entity_version,
                "status": "pending", "attempts": 0, "next_attempt_at": i.not_before or now,
                "created_at": now, "updated_at": now,
            }
            for i in unique.values()
        ]
        if not rows:
            return 0
        added = 0
        with self.write() as conn:
            for chunk in chunked(rows):
                stmt = (
                    self.insert(outbox)
                    .on_conflict_do_nothing(index_elements=[outbox.c.idempotency_key])
                    .returning(outbox.c.id)
                )
                added += len(conn.execute(stmt, list(chunk)).all())
        return added

    def claim_due(
        self, *, now: datetime, limit: int = 50, lease_seconds: float = 120, owner: str = ""
    ) -> list[OutboxRow]:
        """Lease up to ``limit`` due rows to ``owner`` (status ``sending``, attempts + 1), oldest due first.

        Due means pending, or sending with an expired lease, and ``next_attempt_at <= now``. Two
        workers never get the same row: PostgreSQL skips rows another claimer has locked, SQLite
        runs one write transaction at a time.
        """
        due = (
            select(outbox.c.id)
            .where(
                outbox.c.next_attempt_at <= now,
                or_(
                    outbox.c.status == "pending",
                    and_(outbox.c.status == "sending", outbox.c.lease_until <= now),
                ),
            )
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
        )
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(select(due.c.id)))
            .values(status="sending", attempts=outbox.c.attempts + 1, lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_seconds), updated_at=now)
            .returning(*outbox.c)
        )
        with self.write() as conn:
            rows = [_outbox_row(r) for r in conn.execute(stmt)]
        return sorted(rows, key=lambda r: (r.next_attempt_at, r.id))

    def mark_sent(
        self, outbox_id: int, *, external_id: str, url: str | None, fields_sent: Sequence[str],
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Mark a delivery done and append its audit row to ``deliveries``."""
        now = self.now()
        with self.write() as conn:
            row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).first()
            if row is None:
                raise ValueError(f"no outbox row {outbox_id}; pass an id claim_due returned")
            conn.execute(
                update(outbox).where(outbox.c.id == outbox_id).values(
                    status="done", external_id=external_id, url=url, last_error=None, lease_until=None,
                    updated_at=now,
                )
            )
            conn.execute(deliveries.insert().values(
                outbox_id=outbox_id, idempotency_key=row.idempotency_key, rule=row.rule, receiver=row.receiver,
                entity_connector=row.entity_connector, entity_kind=row.entity_kind,
                entity_external_id=row.entity_external_id, entity_version=row.entity_version, channel=row.channel,
                target_connector=row.target_connector, target_external_id=external_id, url=url,
                fields_sent=list(fields_sent), detail=dict(detail or {}), at=now,
            ))

    def mark_failed(self, outbox_id: int, *, error: str, next_attempt_at: datetime) -> None:
        """A failed attempt: back to ``pending`` until ``next_attempt_at``."""
        self._set_status(outbox_id, status="pending", last_error=error, next_attempt_at=next_attempt_at)

    def park(self, outbox_id: int, *, error: str) -> None:
        """Stop retrying a delivery that keeps failing; ``requeue_parked`` brings it back."""
        self._set_status(outbox_id, status="parked", last_error=error)

    def _set_status(self, outbox_id: int, **values: Any) -> None:
        stmt = update(outbox).where(outbox.c.id == outbox_id).values(
            lease_until=None, lease_owner=None, updated_at=self.now(), **values
        )
        with self.write() as conn:
            if conn.execute(stmt).rowcount != 1:
                raise ValueError(f"no outbox row {outbox_id}; pass an id claim_due returned")

    def requeue_parked(self, outbox_id: int | None = None) -> int:
        """Parked rows (one, or all) become pending and due now with a fresh attempt count."""
        now = self.now()
        stmt = update(outbox).where(outbox.c.status == "parked").values(
            status="pending", attempts=0, next_attempt_at=now, updated_at=now
        )
        if outbox_id is not None:
            stmt = stmt.where(outbox.c.id == outbox_id)
        with self.write() as conn:
            return conn.execute(stmt).rowcount

    def outbox_counts(self) -> dict[str, int]:
        """Rows per status, every status present."""
        counts = dict.fromkeys(OUTBOX_STATUSES, 0)
        with self.read() as conn:
            for status, n in conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)):
                counts[status] = int(n)
        return counts

    def outbox_rows(self, *, status: str | None = None, limit: int = 100) -> list[OutboxRow]:
        """Outbox rows in id order (optionally of one status)."""
        stmt = select(outbox).order_by(outbox.c.id).limit(limit)
        if status is not None:
            stmt = stmt.where(outbox.c.status == status)
        with self.read() as conn:
            return [_outbox_row(r) for r in conn.execute(stmt)]

    def deliveries(
        self, *, rule: str | None = None, receiver: str | None = None, since: datetime | None = None,
        limit: int = 100,
    ) -> list[DeliveryRow]:
        """Completed deliveries, newest first."""
        stmt = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
        if rule is not None:
            stmt = stmt.where(deliveries.c.rule == rule)
        if receiver is not None:
            stmt = stmt.where(deliveries.c.receiver == receiver)
        if since is not None:
            stmt = stmt.where(deliveries.c.at >= since)
        with self.read() as conn:
            rows = conn.execute(stmt).all()
        return [
            DeliveryRow(
                id=r.id, outbox_id=r.outbox_id, idempotency_key=r.idempotency_key, rule=r.rule, receiver=r.receiver,
                entity_connector=r.entity_connector, entity_kind=r.entity_kind,
                entity_external_id=r.entity_external_id, entity_version=r.entity_version, channel=r.channel,
                target_connector=r.target_connector, target_external_id=r.target_external_id, url=r.url,
                fields_sent=r.fields_sent, detail=r.detail, at=r.at,
            )
            for r in rows
        ]

    # -- links ---------------------------------------------------------------------------

    def get_link(
        self, *, entity_connector: str, entity_kind: str, entity_external_id: str, target_connector: str,
        channel: str, receiver: str = "",
    ) -> Link | None:
        """The object a previous delivery wrote for this entity, channel and receiver."""
        stmt = select(links).where(
            links.c.entity_connector == entity_connector, links.c.entity_kind == str(entity_kind),
            links.c.entity_external_id == entity_external_id, links.c.target_connector == target_connector,
            links.c.channel == channel, links.c.receiver == receiver,
        )
        with self.read() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _link(row)

    def upsert_link(self, link: Link) -> None:
        """Record (or repoint) the object written for (entity, target connector, channel, receiver)."""
        now = self.now()
        stmt = self.insert(links).values(
            entity_connector=link.entity_connector, entity_kind=str(link.entity_kind),
            entity_external_id=link.entity_external_id, target_connector=link.target_connector,
            channel=link.channel, receiver=link.receiver, target_external_id=link.target_external_id,
            target_url=link.target_url, fingerprint=link.fingerprint, created=link.created or now,
            updated=link.updated or now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[links.c.entity_connector, links.c.entity_kind, links.c.entity_external_id,
                            links.c.target_connector, links.c.channel, links.c.receiver],
            set_={"target_external_id": stmt.excluded.target_external_id, "target_url": stmt.excluded.target_url,
                  "fingerprint": stmt.excluded.fingerprint, "updated": stmt.excluded.updated},
        )
        with self.write() as conn:
            conn.execute(stmt)

    def link_for_target(self, target_connector: str, target_external_id: str) -> Link | None:
        """The link pointing at this remote object (the most recently updated one if several)."""
        stmt = (
            select(links)
            .where(links.c.target_connector == target_connector, links.c.target_external_id == target_external_id)
            .order_by(links.c.updated.desc(), links.c.id.desc())
            .limit(1)
        )
        with self.read() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _link(row)

    def links_for_receiver(self, target_connector: str, channel: str, receiver: str) -> list[Link]:
        stmt = select(links).where(
            links.c.target_connector == target_connector, links.c.channel == channel, links.c.receiver == receiver
        ).order_by(links.c.id)
        with self.read() as conn:
            return [_link(r) for r in conn.execute(stmt)]
