"""Plain dataclasses the store takes and returns (no SQLAlchemy objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from collabhub.model import Entity, entity_from_data

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
    "StoredEntity",
]

RUN_STATUSES = ("ok", "partial", "failed", "interrupted")
OUTBOX_STATUSES = ("pending", "sending", "done", "parked")


@dataclass
class PageStats:
    """What one ``apply_page`` did; pages add up (``a + b``) into run totals."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    echoes: int = 0

    def __add__(self, other: PageStats) -> PageStats:
        if not isinstance(other, PageStats):
            return NotImplemented
        return PageStats(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def changed(self) -> int:
        """Creates + updates + deletes: the rows that produced (or would produce) a change."""
        return self.created + self.updated + self.deleted


@dataclass
class QuarantineItem:
    """A raw record that could not be normalised: its id (when known), why, and the record."""

    external_id: str | None
    reason: str
    raw: Any = None


@dataclass
class StoredEntity:
    """One row of ``entities``: the unified entity as JSON plus the store's bookkeeping."""

    id: int
    connector: str
    kind: str
    external_id: str
    version: int
    content_hash: str
    deleted: bool
    data: dict[str, Any]
    updated_at: datetime
    first_seen: datetime
    last_changed: datetime

    def entity(self) -> Entity:
        """The unified model object; ``deleted`` reflects the row even when the JSON predates it."""
        entity = entity_from_data(self.kind, self.data)
        if self.deleted and not entity.deleted:
            entity = entity.model_copy(update={"deleted": True})
        return entity


@dataclass
class ChangeRecord:
    """One real change to an entity (op is ``create``, ``update`` or ``delete``)."""

    id: int
    entity_id: int
    connector: str
    kind: str
    external_id: str
    op: str
    version: int
    content_hash: str
    run_id: int | None
    at: datetime


@dataclass
class CursorRow:
    connector: str
    stream: str
    value: dict[str, Any]
    updated_at: datetime


@dataclass
class RunRow:
    """One sync run of one connector; ``status`` is ``running`` until ``finish_run``."""

    id: int
    connector: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, dict[str, int]]
    errors: list[str]


@dataclass
class QuarantineRow:
    id: int
    connector: str
    stream: str
    external_id: str | None
    reason: str
    raw: Any
    run_id: int | None
    at: datetime
    resolved: bool
    resolved_at: datetime | None


@dataclass
class OutboxItem:
    """A planned delivery; ``idempotency_key`` makes enqueueing it twice harmless."""

    idempotency_key: str
    target_connector: str
    channel: str
    target: dict[str, Any]
    content: dict[str, Any]
    rule: str = ""
    receiver: str = ""
    entity_connector: str = ""
    entity_kind: str = ""
    entity_external_id: str = ""
    entity_version: int = 0
    not_before: datetime | None = None


@dataclass
class OutboxRow:
    """An outbox row as stored; ``status`` is one of :data:`OUTBOX_STATUSES`."""

    id: int
    idempotency_key: str
    target_connector: str
    channel: str
    target: dict[str, Any]
    content: dict[str, Any]
    rule: str
    receiver: str
    entity_connector: str
    entity_kind: str
    entity_external_id: str
    entity_version: int
    status: str
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    lease_owner: str | None
    last_error: str | None
    external_id: str | None
    url: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class DeliveryRow:
    """Audit of one completed delivery: who got which fields of which entity version, where."""

    id: int
    outbox_id: int | None
    idempotency_key: str
    rule: str
    receiver: str
    entity_connector: str
    entity_kind: str
    entity_external_id: str
    entity_version: int
    channel: str
    target_connector: str
    target_external_id: str
    url: str | None
    fields_sent: list[str]
    detail: dict[str, Any]
    at: datetime


@dataclass
class EventRow:
    id: int
    connector: str
    event_type: str
    payload: dict[str, Any]
    at: datetime


@dataclass
class PersonRow:
    """A hub person: one human across every connected system."""

    id: int
    name: str
    email: str | None
    mobile: str | None
    employee_id: str | None
    departments: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class ReviewRow:
    """A person reference the resolver could not match (``unmatched``) or matched twice (``ambiguous``)."""

    connector: str
    external_id: str
    ref: dict[str, Any]
    reason: str
    candidates: list[int]
    first_seen: datetime
    last_seen: datetime
    resolved: bool
