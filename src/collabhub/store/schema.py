"""The store's tables as SQLAlchemy Core metadata (the Alembic migrations must match it).

Types are portable between SQLite and PostgreSQL: JSON is JSONB on PostgreSQL, surrogate keys
are BIGINT on PostgreSQL and INTEGER (rowid) on SQLite, and every datetime is a
:class:`UTCDateTime` that takes aware datetimes in and always gives UTC-aware ones back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["JSONType", "UTCDateTime", "metadata"]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

JSONType = JSON().with_variant(JSONB(), "postgresql")
IdType = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that refuses naive input and returns UTC-aware values.

    SQLite has no time zone type: values are stored as UTC text and come back naive, so they
    are marked UTC on the way out. PostgreSQL values are converted to UTC too.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # On SQLite every stored time passes through here on the sync hot path. The two processors
    # below each do in one C-level call what ``process_bind_param`` plus SQLite's DATETIME
    # processor (and its result counterpart) do in two Python steps; the text is the same,
    # "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, always with six fraction digits.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r} given to the store; pass a timezone-aware datetime")
            if value.utcoffset():
                value = value.astimezone(UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)

        return process


def _id() -> Column[int]:
    return Column("id", IdType, primary_key=True, autoincrement=True)


def _ts(name: str, nullable: bool = False, **kw: Any) -> Column[datetime]:
    return Column(name, UTCDateTime(), nullable=nullable, **kw)


entities = Table(
    "entities",
    metadata,
    _id(),
    Column("connector", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("external_id", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("data", JSONType, nullable=False),
    Column("department", String),
    Column("project", String),
    _ts("updated_at"),
    _ts("first_seen"),
    _ts("last_changed"),
    # external_id leads: page lookups stay index lookups even before PostgreSQL has table statistics
    UniqueConstraint("external_id", "connector", "kind", name="uq_entities_key"),
    Index("ix_entities_kind_id", "kind", "id"),
)

changes = Table(
    "changes",
    metadata,
    _id(),
    Column("entity_id", IdType, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("connector", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("external_id", String, nullable=False),
    Column("op", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String, nullable=False),
    Column("run_id", IdType),
    _ts("at"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("name", String, primary_key=True),
    Column("value", BigInteger, nullable=False),
    _ts("updated_at"),
)

cursors = Table(
    "cursors",
    metadata,
    Column("connector", String, nullable=False),
    Column("stream", String, nullable=False),
    Column("value", JSONType, nullable=False),
    _ts("updated_at"),
    PrimaryKeyConstraint("connector", "stream"),
)

runs = Table(
    "runs",
    metadata,
    _id(),
    Column("connector", String, nullable=False),
    Column("trigger", String, nullable=False),
    Column("status", String, nullable=False),
    _ts("started_at"),
    _ts("finished_at", nullable=True),
    Column("counts", JSONType, nullable=False),
    Column("errors", JSONType, nullable=False),
    Index("ix_runs_connector_id", "connector", "id"),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String, primary_key=True),
    Column("owner", String, nullable=False),
    _ts("acquired_at"),
    _ts("expires_at"),
)

quarantine = Table(
    "quarantine",
    metadata,
    _id(),
    Column("connector", String, nullable=False),
    Column("stream", String, nullable=False),
    Column("external_id", String),
    Column("reason", Text, nullable=False),
    Column("raw", JSONType),
    Column("run_id", IdType),
    _ts("at"),
    Column("resolved", Boolean, nullable=False),
    _ts("resolved_at", nullable=True),
    Index("ix_quarantine_record", "external_id", "connector"),
    Index("ix_quarantine_resolved_connector", "resolved", "connector"),
)

outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("idempotency_key", String, nullable=False, unique=True),
    Column("target_connector", String, nullable=False),
    Column("channel", String, nullable=False),
    Column("target", JSONType, nullable=False),
    Column("content", JSONType, nullable=False),
    Column("rule", String, nullable=False),
    Column("receiver", String, nullable=False),
    Column("entity_connector", String, nullable=False),
    Column("entity_kind", String, nullable=False),
    Column("entity_external_id", String, nullable=False),
    Column("entity_version", Integer, nullable=False),
    Column("status", String, nullable=False),
    Column("attempts", Integer, nullable=False),
    _ts("next_attempt_at"),
    _ts("lease_until", nullable=True),
    Column("lease_owner", String),
    Column("last_error", Text),
    Column("external_id", String),
    Column("url", Text),
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    _id(),
    Column("outbox_id", IdType),
    Column("idempotency_key", String, nullable=False),
    Column("rule", String, nullable=False, index=True),
    Column("receiver", String, nullable=False, index=True),
    Column("entity_connector", String, nullable=False),
    Column("entity_kind", String, nullable=False),
    Column("entity_external_id", String, nullable=False),
    Column("entity_version", Integer, nullable=False),
    Column("channel", String, nullable=False),
    Column("target_connector", String, nullable=False),
    Column("target_external_id", String, nullable=False),
    Column("url", Text),
    Column("fields_sent", JSONType, nullable=False),
    Column("detail", JSONType, nullable=False),
    _ts("at", index=True),
)

links = Table(
    "links",
    metadata,
    _id(),
    Column("entity_connector", String, nullable=False),
    Column("entity_kind", String, nullable=False),
    Column("entity_external_id", String, nullable=False),
    Column("target_connector", String, nullable=False),
    Column("channel", String, nullable=False),
    Column("receiver", String, nullable=False),
    Column("target_external_id", String, nullable=False),
    Column("target_url", Text),
    Column("fingerprint", String),
    _ts("created"),
    _ts("updated"),
    UniqueConstraint(
        "entity_connector", "entity_kind", "entity_external_id", "target_connector", "channel", "receiver",
        name="uq_links_entity_target",
    ),
    Index("ix_links_target", "target_external_id", "target_connector"),
    Index("ix_links_target_connector_channel_receiver", "target_connector", "channel", "receiver"),
)

seen_events = Table(
    "seen_events",
    metadata,
    Column("source", String, nullable=False),
    Column("event_id", String, nullable=False),
    _ts("expires_at", index=True),
    PrimaryKeyConstraint("source", "event_id"),
)

refresh_requests = Table(
    "refresh_requests",
    metadata,
    _id(),
    Column("connector", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("external_id", String, nullable=False),
    _ts("requested_at"),
    UniqueConstraint("connector", "kind", "external_id"),
)

inbound_events = Table(
    "inbound_events",
    metadata,
    _id(),
    Column("connector", String, nullable=False),
    Column("event_type", String, nullable=False, index=True),
    Column("payload", JSONType, nullable=False),
    _ts("at"),
)

send_slots = Table(
    "send_slots",
    metadata,
    Column("key", String, nullable=False),
    _ts("at"),
    Index("ix_send_slots_key_at", "key", "at"),
)

people = Table(
    "people",
    metadata,
    _id(),
    Column("name", String, nullable=False),
    Column("email", String, index=True),
    Column("mobile", String, index=True),
    Column("employee_id", String, index=True),
    Column("departments", JSONType, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
)

person_identities = Table(
    "person_identities",
    metadata,
    Column("connector", String, nullable=False),
    Column("external_id", String, nullable=False),
    Column("person_id", IdType, ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("matched_by", String, nullable=False),
    _ts("created_at"),
    PrimaryKeyConstraint("external_id", "connector"),
)

identity_review = Table(
    "identity_review",
    metadata,
    Column("connector", String, nullable=False),
    Column("external_id", String, nullable=False),
    Column("ref", JSONType, nullable=False),
    Column("reason", String, nullable=False),
    Column("candidates", JSONType, nullable=False),
    _ts("first_seen"),
    _ts("last_seen"),
    Column("resolved", Boolean, nullable=False),
    PrimaryKeyConstraint("connector", "external_id"),
)
