"""Raw Jira issues to unified ``Task`` entities, and the fields the mapping needs (never ``*all``).

* status category ``new`` / ``indeterminate`` / ``done`` -> todo / in_progress / done
* assignee and reporter -> ``PersonRef`` (Cloud ``accountId``, DC ``key``; email where visible)
* project key -> ``department`` and ``project`` (the engine maps them through config aliases)
* a security level -> ``confidential``; labels, priority, due date, parent or epic, components
* done time: ``resolutiondate``, else the last status change into the current status (changelog)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from collabhub.errors import MappingError
from collabhub.model import EntityKind, PersonRef, SourceRef, StatusCategory, Task
from collabhub_jira.adf import adf_to_text

__all__ = ["CATEGORIES", "MAPPED_FIELDS", "IssueMapper", "parse_time", "updated_ms"]

MAPPED_FIELDS: tuple[str, ...] = (
    "summary", "description", "status", "assignee", "reporter", "project", "labels", "priority", "duedate",
    "parent", "components", "security", "created", "updated", "resolutiondate", "issuetype",
)
CATEGORIES = {"new": StatusCategory.TODO, "undefined": StatusCategory.TODO,
              "indeterminate": StatusCategory.IN_PROGRESS, "done": StatusCategory.DONE}


def parse_time(value: Any) -> datetime | None:
    """Jira's ``2026-11-02T09:00:00.000+0800`` (or epoch milliseconds, as the bulk changelog sends)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise MappingError(f"unreadable Jira timestamp {value!r}") from exc
    if moment.tzinfo is None:
        raise MappingError(f"Jira timestamp {value!r} has no time zone offset")
    return moment


def updated_ms(record: Mapping[str, Any]) -> int:
    """The record's ``fields.updated`` in epoch milliseconds (what the cursor and JQL compare)."""
    moment = parse_time((record.get("fields") or {}).get("updated"))
    if moment is None:
        raise MappingError(f"issue {record.get('key') or record.get('id')} has no 'updated' field")
    return round(moment.timestamp() * 1000)


class IssueMapper:
    """Maps issues for one connector instance."""

    def __init__(self, connector: str, site_url: str, *, epic_link_field: str | None = None,
                 milestone_types: Sequence[str] = ("Milestone",), milestone_label: str | None = "milestone",
                 marker_label_prefix: str | None = None) -> None:
        self.connector = connector
        self.site_url = site_url.rstrip("/")
        self.epic_link_field = epic_link_field
        self.milestone_types = {t.lower() for t in milestone_types}
        self.milestone_label = milestone_label
        self.marker_label_prefix = marker_label_prefix

    def fields(self) -> list[str]:
        """The field list for search and fetch requests."""
        return list(MAPPED_FIELDS) + ([self.epic_link_field] if self.epic_link_field else [])

    def person(self, user: Mapping[str, Any] | None) -> PersonRef | None:
        if not user:
            return None
        external = user.get("accountId") or user.get("key") or user.get("name")
        return PersonRef(connector=self.connector, external_id=external, display_name=user.get("displayName"),
                         email=user.get("emailAddress") or None)

    def _completed(self, record: Mapping[str, Any], fields: Mapping[str, Any],
                   category: StatusCategory) -> datetime | None:
        if category is not StatusCategory.DONE:
            return None
        resolved = parse_time(fields.get("resolutiondate"))
        if resolved is not None:
            return resolved
        status_id = str((fields.get("status") or {}).get("id", ""))
        histories = (record.get("changelog") or {}).get("histories") or []
        moves = [parse_time(h.get("created")) for h in histories
                 if any(i.get("fieldId", i.get("field")) == "status" and str(i.get("to")) == status_id
                        for i in h.get("items") or [])]
        moves = [m for m in moves if m is not None]
        return max(moves) if moves else None

    def task(self, record: Mapping[str, Any]) -> Task:
        """One raw issue to a ``Task``; ``MappingError`` when a required part is missing."""
        issue_id, key = record.get("id"), record.get("key")
        fields = record.get("fields")
        if not issue_id or not key or not isinstance(fields, Mapping):
            raise MappingError(f"Jira issue {key or issue_id or '?'} lacks id, key or fields")
        summary = fields.get("summary")
        if not summary:
            raise MappingError(f"Jira issue {key} has no summary")
        status = fields.get("status") or {}
        category_key = (status.get("statusCategory") or {}).get("key")
        if category_key not in CATEGORIES:
            raise MappingError(f"Jira issue {key} has unknown status category {category_key!r}")
        category = CATEGORIES[category_key]
        project = (fields.get("project") or {}).get("key") or key.rpartition("-")[0]
        labels = [str(x) for x in fields.get("labels") or []]
        if self.marker_label_prefix:
            labels = [x for x in labels if not x.startswith(self.marker_label_prefix)]
        issuetype = (fields.get("issuetype") or {}).get("name")
        parent = (fields.get("parent") or {}).get("key")
        if parent is None and self.epic_link_field:
            parent = fields.get(self.epic_link_field) or None
        try:
            description = adf_to_text(fields.get("description"))
        except ValueError as exc:
            raise MappingError(f"Jira issue {key}: unreadable description ({exc})") from exc
        due_raw = fields.get("duedate")
        try:
            due = date.fromisoformat(due_raw) if due_raw else None
        except ValueError as exc:
            raise MappingError(f"Jira issue {key}: unreadable due date {due_raw!r}") from exc
        updated = parse_time(fields.get("updated"))
        security = fields.get("security")
        return Task(
            source=SourceRef(connector=self.connector, kind=EntityKind.TASK, external_id=str(issue_id),
                             url=f"{self.site_url}/browse/{key}", version=fields.get("updated"), updated=updated),
            title=str(summary), description=description, status=status.get("name"), status_category=category,
            assignee=self.person(fields.get("assignee")), reporter=self.person(fields.get("reporter")),
            labels=labels, priority=(fields.get("priority") or {}).get("name"), due=due,
            created=parse_time(fields.get("created")), updated=updated,
            completed=self._completed(record, fields, category), parent=parent,
            components=[c.get("name") for c in fields.get("components") or [] if c.get("name")],
            confidential=security is not None, department=project, project=project,
            is_milestone=(issuetype or "").lower() in self.milestone_types or (
                self.milestone_label is not None and self.milestone_label in labels),
            extra={"key": key, "issuetype": issuetype, **({"security_level": security.get("name")}
                                                            if isinstance(security, Mapping) else {})},
        )
