"""Which unified fields a ledger column may fill, per entity kind, and how its cells are read.

A person is spread over several columns: ``assignee_email``, ``assignee_name``,
``assignee_employee_id`` and ``assignee_mobile`` together make the task's ``assignee``
:class:`~collabhub.model.PersonRef` (likewise ``reporter_*`` and, for bookings, ``booked_by_*``).
"""

from __future__ import annotations

from enum import StrEnum

from collabhub.model import BookingStatus, EntityKind, ResourceKind, StatusCategory

__all__ = [
    "BUILTIN_STATUS",
    "FIELDS",
    "PERSON_PARTS",
    "REQUIRED",
    "RESOURCE_KINDS",
    "SUPPORTED_KINDS",
    "CellType",
    "person_field",
    "status_values",
]


class CellType(StrEnum):
    """How a cell's value is read."""

    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    LIST = "list"  # split on , ， ; ； 、 and newlines
    DATE_OR_DATETIME = "date_or_datetime"  # a date-only cell stays a date
    DATETIME = "datetime"  # a date-only cell becomes midnight in the source's time zone
    STATUS = "status"  # raw status, categorised through status_map
    RESOURCE_KIND = "resource_kind"
    EMAIL = "email"


# Person columns: suffix -> PersonRef attribute.
PERSON_PARTS: dict[str, str] = {
    "email": "email",
    "name": "display_name",
    "employee_id": "employee_id",
    "mobile": "mobile",
}

_COMMON: dict[str, CellType] = {
    "department": CellType.TEXT,
    "project": CellType.TEXT,
    "confidential": CellType.BOOL,
}


def _person(prefix: str) -> dict[str, CellType]:
    return {f"{prefix}_{part}": CellType.EMAIL if part == "email" else CellType.TEXT for part in PERSON_PARTS}


FIELDS: dict[EntityKind, dict[str, CellType]] = {
    EntityKind.TASK: {
        "title": CellType.TEXT,
        "description": CellType.TEXT,
        "status": CellType.STATUS,
        "priority": CellType.TEXT,
        "labels": CellType.LIST,
        "components": CellType.LIST,
        "due": CellType.DATE_OR_DATETIME,
        "created": CellType.DATETIME,
        "updated": CellType.DATETIME,
        "completed": CellType.DATETIME,
        "parent": CellType.TEXT,
        "origin": CellType.TEXT,
        "is_milestone": CellType.BOOL,
        **_person("assignee"),
        **_person("reporter"),
        **_COMMON,
    },
    EntityKind.RESOURCE: {
        "name": CellType.TEXT,
        "resource_kind": CellType.RESOURCE_KIND,
        "capacity": CellType.INT,
        "location": CellType.TEXT,
        "email": CellType.EMAIL,
        **_COMMON,
    },
    EntityKind.BOOKING: {
        "resource_id": CellType.TEXT,
        "start": CellType.DATETIME,
        "end": CellType.DATETIME,
        "meeting_id": CellType.TEXT,
        "status": CellType.STATUS,
        "reason": CellType.TEXT,
        "title": CellType.TEXT,
        **_person("booked_by"),
        **_COMMON,
    },
}

SUPPORTED_KINDS = tuple(FIELDS)

REQUIRED: dict[EntityKind, tuple[str, ...]] = {
    EntityKind.TASK: ("title",),
    EntityKind.RESOURCE: ("name",),
    EntityKind.BOOKING: ("resource_id", "start", "end"),
}


def person_field(field: str) -> tuple[str, str] | None:
    """``"assignee_email"`` -> ``("assignee", "email")``; ``None`` for a plain field."""
    for prefix in ("assignee", "reporter", "booked_by"):
        if field.startswith(prefix + "_") and field[len(prefix) + 1:] in PERSON_PARTS:
            return prefix, PERSON_PARTS[field[len(prefix) + 1:]]
    return None


def status_values(kind: EntityKind) -> tuple[str, ...]:
    """The values a ``status_map`` of this kind may map to."""
    if kind is EntityKind.TASK:
        return tuple(s.value for s in StatusCategory)
    if kind is EntityKind.BOOKING:
        return tuple(s.value for s in BookingStatus)
    return ()


def _index(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {synonym.casefold(): value for value, synonyms in table.items() for synonym in (value, *synonyms)}


# Raw texts understood without a status_map (English and Chinese). A status_map adds to these
# and wins on conflicts.
BUILTIN_STATUS: dict[EntityKind, dict[str, str]] = {
    EntityKind.TASK: _index({
        "todo": ("to do", "open", "new", "not started", "pending", "待办", "未开始", "新建", "待处理"),
        "in_progress": ("in progress", "doing", "ongoing", "started", "进行中", "处理中", "执行中"),
        "done": ("closed", "complete", "completed", "resolved", "finished", "完成", "已完成", "已关闭", "关闭"),
    }),
    EntityKind.BOOKING: _index({
        "requested": ("pending", "request", "待审批", "申请中", "待确认"),
        "confirmed": ("booked", "approved", "已确认", "确认", "已预订", "已批准"),
        "declined": ("rejected", "已拒绝", "拒绝", "驳回"),
        "cancelled": ("canceled", "已取消", "取消"),
    }),
}

RESOURCE_KINDS: dict[str, str] = _index({
    ResourceKind.ROOM.value: ("meeting room", "会议室", "房间", "场地"),
    ResourceKind.EQUIPMENT.value: ("device", "设备", "器材"),
    ResourceKind.EXTERNAL.value: ("外部", "外部资源"),
})
