"""The Jira simulator's state: issues in plain dicts with the indexes search needs.

``JiraData`` holds users, projects, issues, comments, properties and status history, seeded from
the sample company. Search reads a sorted index of ``(updated_ms, project, number, id)``, so an
``updated >= X ORDER BY updated, key`` page is a bisect plus a short scan, even at 100k issues.

The index can lag behind the data (``index_lag = True``), as Jira's search does: changes wait in
``pending`` until :meth:`JiraData.flush_index` (or a ``reconcileIssues`` request) applies them.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from collabhub.testing.company import Company, Employee

__all__ = ["STATUSES", "TRANSITIONS", "JiraData", "Status", "Transition", "key_parts"]


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category_id: int
    category_key: str
    category_name: str
    color: str


STATUSES: dict[str, Status] = {s.name.lower(): s for s in (
    Status("10000", "To Do", 2, "new", "To Do", "blue-gray"),
    Status("3", "In Progress", 4, "indeterminate", "In Progress", "yellow"),
    Status("10001", "In Review", 4, "indeterminate", "In Progress", "yellow"),
    Status("10002", "Done", 3, "done", "Done", "green"),
)}


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    source: str
    target: str


# The simple workflow every simulated project uses. "To Do" cannot go straight to "Done".
TRANSITIONS: tuple[Transition, ...] = (
    Transition("11", "Start progress", "to do", "In Progress"),
    Transition("21", "Request review", "in progress", "In Review"),
    Transition("31", "Approve", "in review", "Done"),
    Transition("41", "Stop progress", "in progress", "To Do"),
    Transition("51", "Back to progress", "in review", "In Progress"),
    Transition("61", "Reopen", "done", "To Do"),
)

PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
ISSUE_TYPES = {"Task": "10001", "Epic": "10000", "Sub-task": "10003", "Milestone": "10004", "Story": "10002"}
SECURITY_LEVEL = {"id": "10100", "name": "Confidential", "description": "Only the project team"}


def key_parts(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return project.upper(), int(number)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class JiraData:
    """Users, projects and issues of one simulated Jira site. Thread-safe through one lock."""

    def __init__(self, company: Company, *, deployment: str = "cloud", tz: str = "Asia/Shanghai",
                 clock: Callable[[], float] = time.time) -> None:
        self.deployment = deployment
        self.tz = ZoneInfo(tz)
        self.lock = threading.RLock()
        self.users: dict[str, dict[str, Any]] = {}
        self.user_by_person: dict[str, str] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.index: list[tuple[int, str, int, str]] = []
        self.indexed: dict[str, dict[str, Any]] = {}
        self.entry_of: dict[str, tuple[int, str, int, str]] = {}
        self.pending: set[str] = set()
        self.index_lag = False
        self.deleted: list[str] = []
        self._ids = itertools.count(10000)
        self._comment_ids = itertools.count(100000)
        self._history_ids = itertools.count(500000)
        self._clock = clock
        self._offset_ms = 0
        self._last_stamp = 0
        self._offsets: dict[int, tuple[int, str]] = {}
        self._seed(company)

    # -- time ------------------------------------------------------------------------------

    def now_ms(self) -> int:
        """The simulated site's clock: real time, shifted so it is never before the seeded data."""
        return int(self._clock() * 1000) + self._offset_ms

    def _tick(self) -> int:
        """A fresh ``updated`` stamp, strictly after every stamp handed out so far."""
        now = self.now_ms()
        self._last_stamp = max(now, self._last_stamp + 1)
        return self._last_stamp

    # -- seeding ---------------------------------------------------------------------------

    def _user(self, person: Employee) -> dict[str, Any]:
        return {"accountId": person.jira_account_id, "name": person.email.split("@")[0],
                "key": f"JIRAUSER{10000 + int(person.id[1:])}", "displayName": person.name,
                "emailAddress": person.email, "email_visible": person.email_visible_in_jira,
                "timeZone": "Asia/Shanghai", "active": True}

    def _seed(self, company: Company) -> None:
        for person in company.people:
            user = self._user(person)
            self.users[user["accountId"]] = user
            self.user_by_person[person.id] = user["accountId"]
        for i, unit in enumerate(company.departments):
            self.projects[unit.jira_key] = {"id": str(10000 + i), "key": unit.jira_key, "name": unit.name_en,
                                             "lead": self.user_by_person.get(unit.leader or "")}
        for j, team in enumerate(company.projects):
            self.projects[team.key] = {"id": str(11000 + j), "key": team.key, "name": team.name,
                                       "lead": self.user_by_person.get(team.lead)}
        latest = 0
        for item in company.tasks_in("jira"):
            project, number = key_parts(item.key)
            status = STATUSES[item.status.lower()]
            updated = to_ms(item.updated)
            latest = max(latest, updated)
            issue = {
                "id": item.id, "key": item.key, "project": project, "num": number,
                "summary": item.title, "description": item.description, "status": status.name,
                "issuetype": "Milestone" if item.is_milestone else "Task",
                "assignee": self.user_by_person.get(item.assignee or ""),
                "reporter": self.user_by_person.get(item.reporter),
                "priority": item.priority, "labels": list(item.labels),
                "duedate": item.due.isoformat() if item.due else None,
                "created": to_ms(item.created), "updated": updated,
                "resolutiondate": updated if status.category_key == "done" else None,
                "security": bool(item.confidential), "parent": item.parent,
                "components": list(item.components), "comments": [], "properties": {}, "history": [],
            }
            self._insert(issue)
            self._ids = itertools.count(max(next(self._ids), int(item.id) + 1))
        self._offset_ms = max(0, latest + 60_000 - int(self._clock() * 1000))

    # -- the index -------------------------------------------------------------------------

    @staticmethod
    def _entry(issue: dict[str, Any]) -> tuple[int, str, int, str]:
        return (issue["updated"], issue["project"], issue["num"], issue["id"])

    def _insert(self, issue: dict[str, Any]) -> None:
        self.issues[issue["id"]] = issue
        self.by_key[issue["key"]] = issue["id"]
        self._reindex(issue["id"])

    def _unindex(self, issue_id: str) -> None:
        self.indexed.pop(issue_id, None)
        entry = self.entry_of.pop(issue_id, None)
        if entry is None:
            return
        pos = bisect.bisect_left(self.index, entry)
        if pos < len(self.index) and self.index[pos] == entry:
            del self.index[pos]

    def _reindex(self, issue_id: str) -> None:
        self._unindex(issue_id)
        issue = self.issues.get(issue_id)
        if issue is not None:
            entry = self._entry(issue)
            bisect.insort(self.index, entry)
            self.entry_of[issue_id] = entry
            self.indexed[issue_id] = issue

    def _changed(self, issue_id: str, before: dict[str, Any] | None) -> None:
        """Apply a change to the index now, or queue it when the index lags (search keeps the old copy)."""
        if not self.index_lag:
            self._reindex(issue_id)
            return
        if issue_id not in self.pending and before is not None and issue_id in self.indexed:
            self.indexed[issue_id] = before
        self.pending.add(issue_id)

    def flush_index(self, ids: Iterable[str] | None = None) -> None:
        """Let search see pending changes (all, or just ``ids``)."""
        with self.lock:
            todo = set(self.pending) if ids is None else self.pending & set(ids)
            for issue_id in todo:
                self.pending.discard(issue_id)
                self._reindex(issue_id)

    # -- lookups ---------------------------------------------------------------------------

    def get(self, id_or_key: str) -> dict[str, Any] | None:
        ident = str(id_or_key)
        issue_id = ident if ident in self.issues else self.by_key.get(ident.upper())
        return self.issues.get(issue_id) if issue_id else None

    def scan(self, start: tuple[int, str, int, str] | None, updated_from: int | None
             ) -> Iterator[dict[str, Any]]:
        """Indexed issues in ``(updated, key)`` order, after ``start`` and from ``updated_from``."""
        pos = 0
        if updated_from is not None:
            pos = bisect.bisect_left(self.index, (updated_from, "", -1, ""))
        if start is not None:
            pos = max(pos, bisect.bisect_right(self.index, start))
        index = self.index
        while pos < len(index):
            yield self.indexed[index[pos][3]]
            pos += 1

    # -- changes ---------------------------------------------------------------------------

    def snapshot(self, issue: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(issue)

    def create(self, fields: dict[str, Any], *, reporter: str | None, properties: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            project = fields["project"]
            number = 1 + max((i["num"] for i in self.issues.values() if i["project"] == project), default=0)
            now = self._tick()
            issue = {
                "id": str(next(self._ids)), "key": f"{project}-{number}", "project": project, "num": number,
                "summary": fields["summary"], "description": fields.get("description"), "status": "To Do",
                "issuetype": fields.get("issuetype", "Task"), "assignee": fields.get("assignee"),
                "reporter": reporter, "priority": fields.get("priority", "Medium"),
                "labels": sorted(set(fields.get("labels", []))), "duedate": fields.get("duedate"),
                "created": now, "updated": now, "resolutiondate": None, "security": bool(fields.get("security")),
                "parent": fields.get("parent"), "components": list(fields.get("components", [])),
                "comments": [], "properties": dict(properties), "history": [],
            }
            self.issues[issue["id"]] = issue
            self.by_key[issue["key"]] = issue["id"]
            if self.index_lag:
                self.pending.add(issue["id"])
            else:
                self._reindex(issue["id"])
            return issue

    def update(self, issue: dict[str, Any], changes: dict[str, Any], *, author: str | None = None,
               touch: bool = True, at_ms: int | None = None) -> None:
        """Change fields, record status history, move the issue in the index."""
        with self.lock:
            before = self.snapshot(issue) if touch and self.index_lag else None
            items = []
            for name, value in changes.items():
                old = issue.get(name)
                if old == value:
                    continue
                issue[name] = value
                if name == "status":
                    src, dst = STATUSES[str(old).lower()], STATUSES[str(value).lower()]
                    items.append({"field": "status", "fieldtype": "jira", "fieldId": "status", "from": src.id,
                                  "fromString": src.name, "to": dst.id, "toString": dst.name})
                    if dst.category_key == "done":
                        issue["resolutiondate"] = at_ms or self._tick()
                    elif src.category_key == "done":
                        issue["resolutiondate"] = None
            if not touch:
                return
            stamp = at_ms if at_ms is not None else self._tick()
            issue["updated"] = stamp
            if items:
                issue["history"].append({"id": str(next(self._history_ids)), "created": stamp,
                                         "author": author, "items": items})
            self._changed(issue["id"], before)

    def delete(self, issue: dict[str, Any]) -> None:
        with self.lock:
            self.issues.pop(issue["id"], None)
            self.by_key.pop(issue["key"], None)
            self.deleted.append(issue["id"])
            if self.index_lag:
                self.pending.add(issue["id"])
            else:
                self._unindex(issue["id"])

    def add_comment(self, issue: dict[str, Any], body: Any, author: str | None,
                    properties: dict[str, Any] | None = None) -> dict[str, Any]:
        with self.lock:
            now = self._tick()
            comment = {"id": str(next(self._comment_ids)), "body": body, "author": author, "created": now,
                       "updated": now, "properties": dict(properties or {})}
            issue["comments"].append(comment)
            self.update(issue, {}, author=author)
            return comment

    def edit_comment(self, issue: dict[str, Any], comment: dict[str, Any], body: Any, author: str | None) -> None:
        with self.lock:
            comment["body"] = body
            comment["updated"] = self._tick()
            self.update(issue, {}, author=author)

    # -- helpers for tests -----------------------------------------------------------------

    def date_str(self, value: str | date | None) -> str | None:
        if value is None:
            return None
        return value.isoformat() if isinstance(value, date) else value

    def ms_to_jira(self, ms: int | None) -> str | None:
        """Jira's timestamp format in the site's zone, e.g. ``2026-11-02T09:00:00.000+0800``."""
        if ms is None:
            return None
        hour = ms // 3_600_000
        offset = self._offsets.get(hour)
        if offset is None:
            utcoffset = datetime.fromtimestamp(hour * 3600, UTC).astimezone(self.tz).utcoffset()
            seconds = int(utcoffset.total_seconds()) if utcoffset else 0
            sign = "+" if seconds >= 0 else "-"
            offset = self._offsets[hour] = (seconds, f"{sign}{abs(seconds) // 3600:02d}{abs(seconds) % 3600 // 60:02d}")
        local = time.gmtime(ms // 1000 + offset[0])
        return f"{time.strftime('%Y-%m-%dT%H:%M:%S', local)}.{ms % 1000:03d}{offset[1]}"
