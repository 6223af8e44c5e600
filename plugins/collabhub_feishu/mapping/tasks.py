"""Task v2 tasks -> Task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collabhub.model import EntityKind, SourceRef, StatusCategory, Task
from collabhub_feishu.mapping.common import due_value, from_millis, person, require

__all__ = ["task_entity"]


def _member(connector: str, task: Mapping[str, Any], role: str):
    for member in task.get("members") or []:
        if member.get("role") == role and member.get("type", "user") == "user":
            return person(connector, member.get("id"), member.get("name"))
    return None


def task_entity(connector: str, task: Mapping[str, Any], *, department: str | None = None) -> Task:
    """One task (``GET /task/v2/tasks/:guid`` read with ``user_id_type=open_id``)."""
    guid = str(require(task, "guid", "task"))
    completed = from_millis(task.get("completed_at"), "completed_at")
    updated = from_millis(task.get("updated_at"), "updated_at")
    creator = task.get("creator") or {}
    tasklists = [str(t.get("tasklist_guid")) for t in task.get("tasklists") or [] if t.get("tasklist_guid")]
    extra = {k: v for k, v in {"task_id": task.get("task_id"), "tasklists": tasklists}.items() if v}
    return Task(
        source=SourceRef(connector=connector, kind=EntityKind.TASK, external_id=guid, url=task.get("url") or None,
                         version=str(task["updated_at"]) if task.get("updated_at") else None, updated=updated),
        title=str(task.get("summary") or ""),
        description=task.get("description") or None,
        status=str(task.get("status") or ("done" if completed else "todo")),
        status_category=StatusCategory.DONE if completed else StatusCategory.TODO,
        assignee=_member(connector, task, "assignee"),
        reporter=person(connector, creator.get("id")) if creator.get("type", "user") == "user" else None,
        due=due_value(task.get("due")),
        created=from_millis(task.get("created_at"), "created_at"),
        updated=updated,
        completed=completed,
        parent=task.get("parent_task_guid") or None,
        is_milestone=bool(task.get("is_milestone")),
        department=department,
        extra=extra,
    )
