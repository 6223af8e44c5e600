"""The unified model: every connector maps its records into these pydantic v2 types.

Entities carry a :class:`SourceRef` saying where they live. People inside entities are
referenced by :class:`PersonRef` (whatever the source system knows about them); the identity
resolver later joins those references into hub people.

All datetimes are timezone-aware (``AwareDatetime``): a naive datetime is a validation error.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "ENTITY_TYPES",
    "Attendee",
    "Booking",
    "BookingStatus",
    "Department",
    "Entity",
    "EntityKind",
    "Link",
    "Meeting",
    "MeetingStatus",
    "Person",
    "PersonRef",
    "Project",
    "Recurrence",
    "Resource",
    "ResourceKind",
    "ResponseStatus",
    "SourceRef",
    "StatusCategory",
    "Task",
    "Visibility",
    "content_hash",
    "echo_fingerprint",
    "entity_from_data",
    "entity_json",
]


class EntityKind(StrEnum):
    TASK = "task"
    MEETING = "meeting"
    RESOURCE = "resource"
    BOOKING = "booking"
    PERSON = "person"
    DEPARTMENT = "department"
    PROJECT = "project"


class StatusCategory(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class MeetingStatus(StrEnum):
    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"


class Visibility(StrEnum):
    NORMAL = "normal"
    PRIVATE = "private"
    CONFIDENTIAL = "confidential"


class ResponseStatus(StrEnum):
    NONE = "none"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"


class ResourceKind(StrEnum):
    ROOM = "room"
    EQUIPMENT = "equipment"
    EXTERNAL = "external"


class BookingStatus(StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


# Text the store keeps in its own columns (keys, department, project, people's names and
# contacts): a NUL character there would make PostgreSQL reject the whole page, so it is a
# mapping error for that one record instead.
KeyText = Annotated[str, Field(pattern=r"^[^\x00]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False, validate_assignment=False)


class SourceRef(_Model):
    """Where an entity lives: connector instance, kind, id in the remote system, and its version."""

    connector: str
    kind: EntityKind
    external_id: KeyText
    url: str | None = None
    version: str | None = None
    updated: AwareDatetime | None = None


class PersonRef(_Model):
    """A person as one source system names them; ``person_id`` is the hub person identity found."""

    connector: str
    external_id: KeyText | None = None
    person_id: int | None = None
    display_name: KeyText | None = None
    email: KeyText | None = None
    mobile: KeyText | None = None
    employee_id: KeyText | None = None


class Entity(_Model):
    """Fields every unified entity has. Subclasses set ``kind``."""

    kind: ClassVar[EntityKind]
    source: SourceRef
    confidential: bool = False
    deleted: bool = False
    department: KeyText | None = None
    project: KeyText | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        """The store key: (connector, kind, external id)."""
        return (self.source.connector, str(self.kind), self.source.external_id)

    def person_refs(self) -> list[PersonRef]:
        """Every person referenced by this entity (for identity resolution)."""
        return []


class Task(Entity):
    kind: ClassVar[EntityKind] = EntityKind.TASK
    title: str
    description: str | None = None
    status: str | None = None
    status_category: StatusCategory = StatusCategory.TODO
    assignee: PersonRef | None = None
    reporter: PersonRef | None = None
    labels: list[str] = Field(default_factory=list)
    priority: str | None = None
    due: AwareDatetime | date | None = None
    created: AwareDatetime | None = None
    updated: AwareDatetime | None = None
    completed: AwareDatetime | None = None
    parent: str | None = None
    origin: str | None = None
    components: list[str] = Field(default_factory=list)
    is_milestone: bool = False

    def person_refs(self) -> list[PersonRef]:
        return [p for p in (self.assignee, self.reporter) if p is not None]


class Attendee(_Model):
    person: PersonRef
    response: ResponseStatus = ResponseStatus.NONE
    optional: bool = False


class Recurrence(_Model):
    series_id: str
    instance_start: AwareDatetime | None = None
    rule: str | None = None
    is_exception: bool = False


class Meeting(Entity):
    kind: ClassVar[EntityKind] = EntityKind.MEETING
    title: str
    organizer: PersonRef | None = None
    attendees: list[Attendee] = Field(default_factory=list)
    start: AwareDatetime
    end: AwareDatetime
    timezone: str = "UTC"
    all_day: bool = False
    recurrence: Recurrence | None = None
    location: str | None = None
    rooms: list[str] = Field(default_factory=list)
    status: MeetingStatus = MeetingStatus.CONFIRMED
    visibility: Visibility = Visibility.NORMAL
    online_url: str | None = None
    body: str | None = None
    updated: AwareDatetime | None = None

    def person_refs(self) -> list[PersonRef]:
        refs = [a.person for a in self.attendees]
        if self.organizer is not None:
            refs.insert(0, self.organizer)
        return refs


class Resource(Entity):
    kind: ClassVar[EntityKind] = EntityKind.RESOURCE
    name: str
    resource_kind: ResourceKind = ResourceKind.ROOM
    capacity: int | None = None
    location: str | None = None
    email: str | None = None


class Booking(Entity):
    kind: ClassVar[EntityKind] = EntityKind.BOOKING
    resource_id: str
    start: AwareDatetime
    end: AwareDatetime
    booked_by: PersonRef | None = None
    meeting_id: str | None = None
    status: BookingStatus = BookingStatus.CONFIRMED
    reason: str | None = None
    title: str | None = None

    def person_refs(self) -> list[PersonRef]:
        return [self.booked_by] if self.booked_by else []


class Person(Entity):
    kind: ClassVar[EntityKind] = EntityKind.PERSON
    name: KeyText
    email: KeyText | None = None
    mobile: KeyText | None = None
    employee_id: KeyText | None = None
    title: str | None = None
    departments: list[str] = Field(default_factory=list)
    active: bool = True


class Department(Entity):
    kind: ClassVar[EntityKind] = EntityKind.DEPARTMENT
    name: str
    parent: str | None = None
    leader: PersonRef | None = None

    def person_refs(self) -> list[PersonRef]:
        return [self.leader] if self.leader else []


class Project(Entity):
    kind: ClassVar[EntityKind] = EntityKind.PROJECT
    name: str
    code: str | None = None
    departments: list[str] = Field(default_factory=list)
    lead: PersonRef | None = None
    start: AwareDatetime | date | None = None
    end: AwareDatetime | date | None = None

    def person_refs(self) -> list[PersonRef]:
        return [self.lead] if self.lead else []


class Link(_Model):
    """An object the hub wrote in some system, tied to the hub entity it came from."""

    entity_connector: str
    entity_kind: EntityKind
    entity_external_id: str
    target_connector: str
    channel: str
    receiver: str = ""
    target_external_id: str
    target_url: str | None = None
    fingerprint: str | None = None
    created: AwareDatetime | None = None
    updated: AwareDatetime | None = None


ENTITY_TYPES: dict[EntityKind, type[Entity]] = {
    EntityKind.TASK: Task,
    EntityKind.MEETING: Meeting,
    EntityKind.RESOURCE: Resource,
    EntityKind.BOOKING: Booking,
    EntityKind.PERSON: Person,
    EntityKind.DEPARTMENT: Department,
    EntityKind.PROJECT: Project,
}

# Models without custom serialisation: their ``__dict__`` is what pydantic would write.
_PLAIN_MODELS: frozenset[type[BaseModel]] = frozenset(
    {SourceRef, PersonRef, Attendee, Recurrence, *ENTITY_TYPES.values()})


def entity_from_data(kind: EntityKind | str, data: dict[str, Any]) -> Entity:
    """Rebuild an entity from the JSON stored for it."""
    return ENTITY_TYPES[EntityKind(kind)].model_validate(data)


def _canonical(data: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, compact) for hashing."""
    try:
        return orjson.dumps(data, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # an int beyond 64 bits: the standard library writes it
        return json.dumps(data, default=str, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# Left out of the serialisation hashed by ``content_hash``: the remote's bookkeeping stamps, and
# ``extra`` (hashed separately, keys sorted).
_NOT_HASHED = {"updated": True, "extra": True, "source": {"version": True, "url": True, "updated": True}}


def content_hash(entity: Entity) -> str:
    """A stable hash of the entity's content: equal hash, no change.

    Remote bookkeeping stamps are left out (``source.version``, ``source.url``,
    ``source.updated`` and the entity's own ``updated``): a system bumps them for touches that
    change nothing the hub models (a comment, a watcher, the hub's own status comment), and
    counting those as changes would make two-way links ping-pong. The hash is taken over the
    entity's JSON (pydantic's, fields in declaration order) plus, when there is one, ``extra``
    with its keys sorted: the same remote payload in another key order is the same content.
    """
    hashed: bytes | None = None
    if type(entity) in _PLAIN_MODELS:
        fields = entity.__dict__.copy()
        fields.pop("updated", None)
        del fields["extra"]
        try:
            hashed = orjson.dumps(fields, default=_stable_fields, option=_JSON_OPTIONS)
        except orjson.JSONEncodeError:  # e.g. an int beyond 64 bits: pydantic writes it
            hashed = None
    if hashed is None:
        hashed = entity.__pydantic_serializer__.to_json(entity, exclude=_NOT_HASHED)
    digest = hashlib.sha256(hashed)
    if entity.extra:
        digest.update(_canonical(entity.extra))
    return digest.hexdigest()[:32]


def entity_json(entity: Entity) -> str:
    """The entity as compact JSON text (what the store keeps), byte for byte pydantic's ``to_json``.

    The built-in models are plain (no custom serialisers), so orjson writes them from their
    fields several times faster than pydantic's serialiser; anything else goes through pydantic.
    """
    if type(entity) in _PLAIN_MODELS:
        try:
            return orjson.dumps(entity, default=_plain_fields, option=_JSON_OPTIONS).decode()
        except orjson.JSONEncodeError:
            pass
    return entity.__pydantic_serializer__.to_json(entity).decode()


# orjson writes UTC as "Z" and non-string dict keys as strings, as pydantic does.
_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _plain_fields(obj: Any) -> Any:
    """orjson's fallback: a built-in model as its fields; any other model through pydantic."""
    if type(obj) in _PLAIN_MODELS:
        return obj.__dict__
    if isinstance(obj, BaseModel):
        return obj.__pydantic_serializer__.to_python(obj, mode="json")
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _stable_fields(obj: Any) -> Any:
    """Like :func:`_plain_fields`, with a SourceRef cut to what ``content_hash`` covers."""
    if type(obj) is SourceRef:
        fields = obj.__dict__
        return {"connector": fields["connector"], "kind": fields["kind"], "external_id": fields["external_id"]}
    return _plain_fields(obj)


# Fields that say "this is the same object the hub wrote", per kind. Timestamps that the
# remote system touches on every write (updated, version) are left out on purpose.
_ECHO_FIELDS: dict[EntityKind, tuple[str, ...]] = {
    EntityKind.TASK: ("title", "status_category", "due", "description"),
    EntityKind.MEETING: ("title", "start", "end", "status", "location"),
    EntityKind.BOOKING: ("resource_id", "start", "end", "status"),
}

def echo_fingerprint(entity: Entity) -> str | None:
    """Fingerprint of the fields a writer controls; ``None`` for kinds the hub never writes."""
    fields = _ECHO_FIELDS.get(entity.kind)
    if fields is None:
        return None
    data = entity.model_dump(mode="json", include=set(fields))
    return hashlib.sha256(_canonical(data)).hexdigest()[:32]
