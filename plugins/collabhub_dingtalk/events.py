"""What a DingTalk change event means for the hub (shared by HTTP callbacks and Stream mode).

Events ask for targeted re-pulls of what changed; removals that cannot be re-pulled (a person who
left, a removed department) ask for a resync of that stream, whose sweep then finds them gone.
Unknown event types are kept for the rules (``record_event``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from collabhub.connector import WebhookSink
from collabhub.model import EntityKind
from collabhub_dingtalk.streams.base import refresh_id

__all__ = ["event_id_of", "flatten_event", "handle_event"]


def flatten_event(payload: Mapping[str, Any]) -> dict[str, Any]:
    """One dict of an event's fields: HTTP bodies put them at the top, Stream frames in ``data``."""
    data = dict(payload)
    inner = payload.get("data")
    if isinstance(inner, str):
        try:
            inner = json.loads(inner)
        except ValueError:
            inner = None
    if isinstance(inner, Mapping):
        data.update(inner)
    return data


def event_id_of(payload: Mapping[str, Any], raw: str) -> str:
    """The event's own id, or a digest of its text when it carries none."""
    for key in ("eventId", "EventId", "event_id", "BizId", "bizId"):
        if payload.get(key):
            return str(payload[key])
    return "sha1:" + hashlib.sha1(raw.encode()).hexdigest()


def _list(data: Mapping[str, Any], *keys: str) -> list[str]:
    for key in keys:
        value = data.get(key)
        if isinstance(value, list):
            return [str(v) for v in value if v not in (None, "")]
        if value not in (None, ""):
            return [str(value)]
    return []


async def handle_event(connector: Any, sink: WebhookSink, event_type: str, payload: Mapping[str, Any]) -> str:
    """Act on one event; returns a short description of what was done."""
    name = connector.name
    data = flatten_event(payload)
    if event_type == "check_url":
        return "url check"
    if event_type == "calendar_event_change":
        event_ids = _list(data, "calendarEventId", "eventId")
        owners = _list(data, "unionIdList", "unionId")
        if event_ids and owners:
            await sink.request_refresh(name, EntityKind.MEETING,
                                       [refresh_id("event", f"{owners[0]}/{e}") for e in event_ids])
            return f"refresh meeting {event_ids}"
        await sink.request_resync(name, "calendars", "calendar change event without event or user id")
        return "resync calendars"
    if event_type in ("todo_task_create", "todo_task_update"):
        task_ids = _list(data, "taskId", "id", "bizId")
        owner = next(iter(_list(data, "unionId", "operatorUnionId", "creatorUnionId", "operatorId")), "")
        refs = [refresh_id("todo", f"{owner}/{t}" if owner else t) for t in task_ids]
        await sink.request_refresh(name, EntityKind.TASK, refs)
        return f"refresh todo {task_ids}"
    if event_type == "todo_task_delete":
        task_ids = _list(data, "taskId", "id", "bizId")
        await sink.mark_deleted(name, EntityKind.TASK, task_ids)
        return f"deleted todo {task_ids}"
    if event_type in ("bpms_instance_change", "bpms_task_change"):
        code = str(data.get("processCode") or "")
        instance = str(data.get("processInstanceId") or "")
        process = next((p for p in connector.config.approvals if p.process_code == code), None)
        if process is None or not instance:
            return "approval of an unconfigured process: ignored"
        kind = EntityKind.BOOKING if process.kind == "booking" else EntityKind.TASK
        prefix = "approval_booking" if process.kind == "booking" else "approval"
        await sink.request_refresh(name, kind, [refresh_id(prefix, f"{code}/{instance}")])
        return f"refresh approval {instance}"
    if event_type in ("user_add_org", "user_modify_org", "user_active_org"):
        users = _list(data, "UserId", "userId", "userid")
        await sink.request_refresh(name, EntityKind.PERSON, [refresh_id("user", u) for u in users])
        return f"refresh users {users}"
    if event_type == "user_leave_org":
        await sink.request_resync(name, "users", "a user left the organisation")
        return "resync users"
    if event_type in ("org_dept_create", "org_dept_modify"):
        depts = _list(data, "DeptId", "deptId", "dept_id")
        await sink.request_refresh(name, EntityKind.DEPARTMENT, [refresh_id("dept", d) for d in depts])
        return f"refresh departments {depts}"
    if event_type == "org_dept_remove":
        await sink.request_resync(name, "departments", "a department was removed")
        return "resync departments"
    await sink.record_event(name, event_type or "unknown", dict(payload))
    return f"recorded {event_type}"
