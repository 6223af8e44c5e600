"""Task v2 tasks, enumerated through tasklists with the tenant token.

``GET /task/v2/tasklists/:guid/tasks`` returns summaries (guid, summary, completed_at, start, due,
members, subtask_count) and has no "changed since" filter. Each pass pages through every
tasklist, fetches the full task (``GET /task/v2/tasks/:guid``) only where the summary's digest
changed, and reports tasks missing from a complete pass as deleted. Edits a summary does not
show (the description) arrive through ``task.task.updated_v1`` events and targeted re-pulls.

Cursor::

    {"pass": n, "digests": {guid: [digest, pass]},
     "tasklists": [...], "index": i, "page_token": p}     # the last three only mid-pass
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from collabhub.connector import Page
from collabhub.model import Entity, EntityKind
from collabhub_feishu.errors import body_code, skip_codes
from collabhub_feishu.mapping import task_entity
from collabhub_feishu.streams.approvals import ApprovalsStream
from collabhub_feishu.streams.base import FeishuStream, pages

__all__ = ["TasksStream", "summary_digest"]

_QUERY = {"user_id_type": "open_id", "page_size": 100}
_GONE = (1470404,)


def summary_digest(summary: Mapping[str, Any]) -> str:
    blob = json.dumps(summary, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


class TasksStream(FeishuStream):
    """Tasks of the tasklists the app can see -> Task."""

    name = "tasks"
    kind = EntityKind.TASK
    primary_key = "guid"

    async def _tasklists(self) -> list[str]:
        if self.cfg.tasklist_guids:
            return list(self.cfg.tasklist_guids)
        guids: list[str] = []
        async for items, _ in pages(self.connector, "GET", "/open-apis/task/v2/tasklists", _QUERY):
            guids.extend(str(t["guid"]) for t in items if t.get("guid"))
        return guids

    async def get_task(self, guid: str) -> dict[str, Any] | None:
        body = await self.connector.call("GET", f"/open-apis/task/v2/tasks/{guid}", params={"user_id_type": "open_id"},
                                         classify=skip_codes(*_GONE))
        task = (body.get("data") or {}).get("task") if body_code(body) == 0 else None
        return task if isinstance(task, dict) else None

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        state: dict[str, Any] = copy.deepcopy(dict(cursor)) if cursor else {}
        digests: dict[str, list[Any]] = state.setdefault("digests", {})
        if "index" not in state:  # a new pass
            state["pass"] = int(state.get("pass", 0)) + 1
            state["tasklists"] = await self._tasklists()
            state["index"] = 0
            state.pop("page_token", None)
        current = state["pass"]
        while state["index"] < len(state["tasklists"]):
            tasklist = state["tasklists"][state["index"]]
            async for items, token in pages(self.connector, "GET", f"/open-apis/task/v2/tasklists/{tasklist}/tasks",
                                            _QUERY, page_token=state.get("page_token")):
                records: list[dict[str, Any]] = []
                for summary in items:
                    guid = str(summary.get("guid") or "")
                    known = digests.get(guid)
                    if not guid or (known and known[1] == current):
                        continue  # no id, or already seen in this pass through another tasklist
                    digest = summary_digest(summary)
                    if not known or known[0] != digest:
                        task = await self.get_task(guid)
                        if task is None:
                            continue
                        records.append(task)
                    digests[guid] = [digest, current]
                if token:
                    state["page_token"] = token
                else:
                    state.pop("page_token", None)
                    state["index"] += 1
                yield Page(records=records, cursor=copy.deepcopy(state))
        gone = sorted(g for g, (_, seen_in) in digests.items() if seen_in != current)
        for guid in gone:
            del digests[guid]
        yield Page(cursor={"pass": current, "digests": digests}, deleted=gone)

    def normalize(self, record: Any) -> Iterable[Entity]:
        if isinstance(record, Mapping) and "instance_code" in record:  # an approval re-pulled through fetch()
            return ApprovalsStream(self.connector).normalize(record)
        department = None
        for tasklist in record.get("tasklists") or []:
            department = self.cfg.tasklist_departments.get(str(tasklist.get("tasklist_guid")))
            if department:
                break
        return [task_entity(self.connector.name, record, department=department)]

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Page]:
        """Re-pull tasks by guid; ``approval:`` ids go to the approvals stream.

        The engine routes re-pulls by entity kind to the first stream of that kind, which is this
        one for both tasks and approval instances; ``normalize`` tells the two records apart.
        """
        approvals = [i for i in external_ids if i.startswith("approval:")]
        if approvals:
            async for page in ApprovalsStream(self.connector).fetch(approvals):
                yield page
        for guid in external_ids:
            if guid.startswith("approval:"):
                continue
            task = await self.get_task(guid)
            yield Page(records=[task]) if task else Page(deleted=[guid])
