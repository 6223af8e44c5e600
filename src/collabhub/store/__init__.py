"""The store: SQLAlchemy 2 tables, repositories and Alembic migrations (SQLite or PostgreSQL).

Tables (``schema.py``; migrations in ``migrations/versions``):

- ``entities``: one row per (connector, kind, external_id): the unified entity as JSON, its
  content hash, a version bumped on every real change, a ``deleted`` flag, and indexed
  ``department`` / ``project`` / ``updated_at`` for rules queries.
- ``changes``: append-only change records (create / update / delete) that the rules consume
  in id order; ``checkpoints`` keeps each consumer's last seen id.
- ``cursors``: each (connector, stream)'s saved position, committed with the page it follows.
- ``runs``: one row per sync run with per-stream counts and errors; ``locks``: lease rows that
  keep runs of one connector from overlapping, across processes.
- ``quarantine``: raw records that could not be mapped, until a later pull maps them.
- ``outbox``: planned deliveries keyed by idempotency key (pending / sending / done / parked);
  ``deliveries``: the audit of what was sent to whom; ``links``: objects the hub wrote, with
  the echo fingerprint that stops two-way ping-pong.
- ``seen_events`` (webhook replay protection), ``refresh_requests`` (targeted re-pulls),
  ``inbound_events`` (e.g. card acknowledgements).
- ``people``, ``person_identities``, ``identity_review``: one person across systems.
- ``send_slots``: send-rate windows (e.g. 20 robot messages a minute) shared by every process.

Datetimes go in and come out timezone-aware UTC on both databases.
"""

from collabhub.store.rows import (
    OUTBOX_STATUSES,
    RUN_STATUSES,
    ChangeRecord,
    CursorRow,
    DeliveryRow,
    EventRow,
    OutboxItem,
    OutboxRow,
    PageStats,
    PersonRow,
    QuarantineItem,
    QuarantineRow,
    ReviewRow,
    RunRow,
    StoredEntity,
)
from collabhub.store.schema import metadata
from collabhub.store.store import Store

__all__ = [
    "OUTBOX_STATUSES",
    "RUN_STATUSES",
    "ChangeRecord",
    "CursorRow",
    "DeliveryRow",
    "EventRow",
    "OutboxItem",
    "OutboxRow",
    "PageStats",
    "PersonRow",
    "QuarantineItem",
    "QuarantineRow",
    "ReviewRow",
    "RunRow",
    "Store",
    "StoredEntity",
    "metadata",
]
