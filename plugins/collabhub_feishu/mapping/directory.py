"""Contact v3 departments and users, and vc v1 meeting rooms -> Department, Person, Resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collabhub.model import Department, EntityKind, Person, Resource, ResourceKind, SourceRef
from collabhub_feishu.mapping.common import person, require

__all__ = ["department_entity", "person_entity", "room_entity"]


def department_entity(connector: str, item: Mapping[str, Any]) -> Department:
    """A contact v3 department (read with ``department_id_type=open_department_id``)."""
    dept_id = str(item.get("open_department_id") or require(item, "department_id", "department"))
    parent = item.get("parent_department_id")
    status = item.get("status") or {}
    names = item.get("i18n_name") or {}
    return Department(
        source=SourceRef(connector=connector, kind=EntityKind.DEPARTMENT, external_id=dept_id),
        name=str(require(item, "name", "department")),
        parent=None if parent in (None, "", "0") else str(parent),
        leader=person(connector, item.get("leader_user_id")),
        department=dept_id,
        deleted=bool(status.get("is_deleted")),
        extra={k: v for k, v in {"department_id": item.get("department_id"), "name_en": names.get("en_us"),
                                 "member_count": item.get("member_count")}.items() if v is not None},
    )


def person_entity(connector: str, item: Mapping[str, Any]) -> Person:
    """A contact v3 user (read with ``user_id_type=open_id``): the org chart's identity keys."""
    open_id = str(require(item, "open_id", "user"))
    status = item.get("status") or {}
    departments = [str(d) for d in item.get("department_ids") or []]
    active = not (status.get("is_resigned") or status.get("is_exited") or status.get("is_frozen"))
    return Person(
        source=SourceRef(connector=connector, kind=EntityKind.PERSON, external_id=open_id),
        name=str(item.get("name") or item.get("en_name") or open_id),
        email=item.get("email") or item.get("enterprise_email") or None,
        mobile=item.get("mobile") or None,
        employee_id=item.get("employee_no") or None,
        title=item.get("job_title") or None,
        departments=departments,
        department=departments[0] if departments else None,
        active=active,
        extra={k: v for k, v in {"union_id": item.get("union_id"), "user_id": item.get("user_id"),
                                 "en_name": item.get("en_name")}.items() if v},
    )


def room_entity(connector: str, item: Mapping[str, Any]) -> Resource:
    """A vc v1 meeting room."""
    room_id = str(require(item, "room_id", "room"))
    status = item.get("room_status") or {}
    extra = {k: item.get(k) for k in ("display_id", "custom_room_id", "room_level_id") if item.get(k)}
    if status.get("status") is False:
        extra["disabled"] = True
    return Resource(
        source=SourceRef(connector=connector, kind=EntityKind.RESOURCE, external_id=room_id),
        name=str(require(item, "name", "room")),
        resource_kind=ResourceKind.ROOM,
        capacity=int(item["capacity"]) if item.get("capacity") not in (None, "") else None,
        location=item.get("description") or None,
        extra=extra,
    )
