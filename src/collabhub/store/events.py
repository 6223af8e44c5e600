"""Inbound side: webhook replay protection, targeted refresh requests and kept inbound events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from collabhub.store.db import StoreBase, chunked
from collabhub.store.rows import EventRow
from collabhub.store.schema import inbound_events, refresh_requests, seen_events

__all__ = ["EventMixin"]


class EventMixin(StoreBase):
    """``first_seen``, refresh requests and inbound events."""

    def first_seen(self, source: str, event_id: str, *, ttl_seconds: float = 7 * 86400) -> bool:
        """Remember ``event_id`` for ``ttl_seconds``; False when it was already seen (a replay or retry).

        Expired ids are purged on the way, so an id seen again after its TTL counts as new.
        """
        now = self.now()
        stmt = (
            self.insert(seen_events)
            .values(source=source, event_id=event_id, expires_at=now + timedelta(seconds=ttl_seconds))
            .on_conflict_do_nothing(index_elements=[seen_events.c.source, seen_events.c.event_id])
            .returning(seen_events.c.event_id)  # rowcount of INSERT is not reliable on every driver
        )
        with self.write() as conn:
            conn.execute(delete(seen_events).where(seen_events.c.expires_at <= now))
            return conn.execute(stmt).first() is not None

    def request_refresh(self, connector: str, kind: str, external_ids: Sequence[str]) -> None:
        """Queue a targeted re-pull of these objects (a request already queued is kept once)."""
        now = self.now()
        rows = [{"connector": connector, "kind": str(kind), "external_id": x, "requested_at": now}
                for x in dict.fromkeys(external_ids)]
        if not rows:
            return
        with self.write() as conn:
            for chunk in chunked(rows):
                stmt = self.insert(refresh_requests).on_conflict_do_nothing(
                    index_elements=[refresh_requests.c.connector, refresh_requests.c.kind,
                                    refresh_requests.c.external_id]
                )
                conn.execute(stmt, list(chunk))

    def take_refresh_requests(self, connector: str, limit: int = 500) -> list[tuple[str, str]]:
        """Remove and return up to ``limit`` queued (kind, external_id) requests, oldest first."""
        oldest = (
            select(refresh_requests.c.id)
            .where(refresh_requests.c.connector == connector)
            .order_by(refresh_requests.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("oldest")
        )
        stmt = (
            delete(refresh_requests)
            .where(refresh_requests.c.id.in_(select(oldest.c.id)))
            .returning(refresh_requests.c.id, refresh_requests.c.kind, refresh_requests.c.external_id)
        )
        with self.write() as conn:
            rows = sorted(conn.execute(stmt).all(), key=lambda r: r.id)
        return [(r.kind, r.external_id) for r in rows]

    def record_event(self, connector: str, event_type: str, payload: Mapping[str, Any]) -> None:
        """Keep an inbound event (e.g. a card acknowledgement) for the rules to read."""
        stmt = inbound_events.insert().values(
            connector=connector, event_type=event_type, payload=dict(payload), at=self.now()
        )
        with self.write() as conn:
            conn.execute(stmt)

    def events(self, *, event_type: str | None = None, after_id: int = 0, limit: int = 1000) -> list[EventRow]:
        """Inbound events with ``id > after_id`` in id order."""
        stmt = select(inbound_events).where(inbound_events.c.id > after_id).order_by(inbound_events.c.id).limit(limit)
        if event_type is not None:
            stmt = stmt.where(inbound_events.c.event_type == event_type)
        with self.read() as conn:
            return [EventRow(r.id, r.connector, r.event_type, r.payload, r.at) for r in conn.execute(stmt)]
