"""Approval v4 instances -> a Task (a request to act on), or a Booking when it holds a resource.

An instance (``GET /approval/v4/instances/:instance_code``) carries ``approval_code,
approval_name, instance_code, serial_number, status, start_time, end_time (ms), open_id,
department_id, form (a JSON string: a list of widgets {id, name, type, value}), task_list``.
Status: PENDING, APPROVED, REJECTED, CANCELED, DELETED.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from collabhub.errors import MappingError
from collabhub.model import Booking, BookingStatus, Entity, EntityKind, SourceRef, StatusCategory, Task
from collabhub_feishu.config import ApprovalSpec
from collabhub_feishu.mapping.common import from_millis, person, require

__all__ = ["approval_entities", "approval_external_id", "form_widgets"]

_CATEGORY = {"PENDING": StatusCategory.IN_PROGRESS, "APPROVED": StatusCategory.DONE,
             "REJECTED": StatusCategory.DONE, "CANCELED": StatusCategory.DONE, "DELETED": StatusCategory.DONE}
_BOOKING = {"PENDING": BookingStatus.REQUESTED, "APPROVED": BookingStatus.CONFIRMED,
            "REJECTED": BookingStatus.DECLINED, "CANCELED": BookingStatus.CANCELLED,
            "DELETED": BookingStatus.CANCELLED}


def approval_external_id(instance_code: str) -> str:
    return f"approval:{instance_code}"


def form_widgets(instance: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The parsed ``form`` of an instance (a JSON string holding a list of widgets)."""
    raw = instance.get("form") or "[]"
    try:
        widgets = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise MappingError(f"approval instance {instance.get('instance_code')} has a form that is not JSON") from exc
    if not isinstance(widgets, list):
        raise MappingError(f"approval instance {instance.get('instance_code')} has a form that is not a list")
    return [w for w in widgets if isinstance(w, Mapping)]


def _widget(widgets: list[Mapping[str, Any]], key: str) -> Mapping[str, Any] | None:
    for widget in widgets:
        if widget.get("id") == key or widget.get("name") == key:
            return widget
    return None


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        if "start" in value and "end" in value:
            return f"{value['start']} – {value['end']}"
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _instant(value: Any, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(f"approval widget {field!r} has a time that is not RFC 3339: {value!r}") from exc
    if moment.tzinfo is None:
        raise MappingError(f"approval widget {field!r} has a time without an offset: {value!r}")
    return moment.astimezone(UTC)


def _current_approver(connector: str, instance: Mapping[str, Any]):
    for task in instance.get("task_list") or []:
        if task.get("status") == "PENDING":
            return person(connector, task.get("open_id"))
    return None


def approval_entities(connector: str, instance: Mapping[str, Any], spec: ApprovalSpec | None) -> list[Entity]:
    """The unified entity of one approval instance."""
    code = str(require(instance, "instance_code", "approval instance"))
    status = str(instance.get("status") or "PENDING")
    widgets = form_widgets(instance)
    name = str(instance.get("approval_name") or "Approval")
    serial = instance.get("serial_number")
    title = f"{name} #{serial}" if serial else name
    requester = person(connector, instance.get("open_id"))
    started = from_millis(instance.get("start_time"), "start_time")
    ended = from_millis(instance.get("end_time"), "end_time")
    source_kind = EntityKind.BOOKING if spec is not None and spec.kind == "booking" else EntityKind.TASK
    source = SourceRef(connector=connector, kind=source_kind, external_id=approval_external_id(code),
                       version=str(ended.timestamp()) if ended else None, updated=ended or started)
    department = str(instance["department_id"]) if instance.get("department_id") else None
    extra = {"approval_code": instance.get("approval_code"), "instance_code": code, "status": status}
    if source_kind is EntityKind.BOOKING:
        assert spec is not None
        if not spec.resource_field or not spec.time_field:
            raise MappingError(f"approval {spec.code} is configured as a booking but resource_field or time_field "
                               "is missing in its settings")
        resource = _widget(widgets, spec.resource_field)
        span = _widget(widgets, spec.time_field)
        if resource is None or not resource.get("value"):
            raise MappingError(f"approval instance {code} has no form widget {spec.resource_field!r}")
        if span is None or not isinstance(span.get("value"), Mapping):
            raise MappingError(f"approval instance {code} has no dateInterval widget {spec.time_field!r}")
        return [Booking(
            source=source, resource_id=_text(resource["value"]),
            start=_instant(span["value"].get("start"), spec.time_field),
            end=_instant(span["value"].get("end"), spec.time_field),
            booked_by=requester, status=_BOOKING.get(status, BookingStatus.REQUESTED), title=title,
            reason="; ".join(f"{w.get('name')}: {_text(w.get('value'))}" for w in widgets
                             if w is not resource and w is not span and w.get("value")) or None,
            department=department, deleted=status == "DELETED", extra=extra,
        )]
    description = "\n".join(f"{w.get('name')}: {_text(w.get('value'))}" for w in widgets if w.get("value"))
    return [Task(
        source=source, title=title, description=description or None, status=status,
        status_category=_CATEGORY.get(status, StatusCategory.IN_PROGRESS),
        assignee=_current_approver(connector, instance), reporter=requester, labels=["approval"],
        created=started, updated=ended or started, completed=ended if status != "PENDING" else None,
        department=department, deleted=status == "DELETED", extra=extra,
    )]
