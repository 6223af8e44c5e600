"""Todos (-> Tasks) of the users in scope.

DingTalk has no change feed for todos, so every run lists each user's cards
(``POST /v1.0/todo/users/{unionId}/org/tasks/query {nextToken, isDone}``, open then done) and fetches
the detail (``GET /v1.0/todo/users/{unionId}/tasks/{taskId}``: description, executors) only of cards
modified since the last complete run (a page's details concurrently, within ``http.max_concurrency``).
The high-water mark is the run's start time minus a margin, not the newest ``modifiedTime`` seen,
so a todo changed during a run is caught by the next one.
Cursor: ``{"since": ms}`` between runs; inside a run also ``{"started", "user", "done", "next"}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from collabhub.connector import Page
from collabhub.model import Entity, EntityKind
from collabhub_dingtalk import mapping
from collabhub_dingtalk.streams.base import DingTalkStream, QuietPages
from collabhub_dingtalk.timeutil import ms

__all__ = ["Todos"]

MARGIN_MS = 5 * 60 * 1000  # clock skew between us and DingTalk


class Todos(DingTalkStream):
    """Todos where the users in scope are creator, executor or participant."""

    name = "todos"
    kind = EntityKind.TASK
    refresh_prefix = "todo"

    def _detail_url(self, union_id: str, task_id: str) -> str:
        return self.connector.api(f"/v1.0/todo/users/{union_id}/tasks/{task_id}")

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        state = dict(cursor or {})
        since = state.get("since")
        started = int(state.get("started") or ms(self.connector.now()))
        scope = await self.connector.scope_users()
        resume_user = state.get("user")
        users = [u for u in scope if resume_user is None or u >= resume_user]
        fetched: dict[str, int] = {}
        quiet = QuietPages()
        if not users:
            yield Page([], cursor={"since": started - MARGIN_MS})
            return
        for index, union_id in enumerate(users):
            resuming = union_id == resume_user
            phases = [bool(state.get("done"))] if resuming and state.get("done") else [False, True]
            for is_done in phases:
                token = state.get("next") if resuming and bool(state.get("done")) == is_done else None
                resuming = False
                while True:
                    body: dict[str, Any] = {"isDone": is_done}
                    if token not in (None, ""):
                        body["nextToken"] = token
                    answer = await self.connector.call(
                        "POST", self.connector.api(f"/v1.0/todo/users/{union_id}/org/tasks/query"), json=body) or {}
                    wanted: dict[str, int] = {}
                    for card in answer.get("todoCards") or []:
                        task_id, modified = str(card.get("taskId") or ""), int(card.get("modifiedTime") or 0)
                        if not task_id or fetched.get(task_id) == modified or task_id in wanted:
                            continue
                        if since is None or modified > int(since):
                            wanted[task_id] = modified
                    details = await asyncio.gather(*(self.connector.call(
                        "GET", self._detail_url(union_id, t), lookup=True) for t in wanted))
                    records = [d for d in details if d and d.get("id")]
                    fetched.update({str(d["id"]): wanted.get(str(d["id"]), 0) for d in records})
                    token = answer.get("nextToken")
                    last_user = index == len(users) - 1
                    more = token not in (None, "")
                    if more:
                        out = {"since": since, "started": started, "user": union_id, "done": is_done, "next": token}
                    elif not is_done:
                        out = {"since": since, "started": started, "user": union_id, "done": True, "next": None}
                    elif not last_user:
                        out = {"since": since, "started": started, "user": users[index + 1]}
                    else:
                        out = {"since": started - MARGIN_MS}
                    page = Page(records, cursor=out)
                    if quiet.keep(page, last="started" not in out):
                        yield page
                    if not more:
                        break

    def normalize(self, record: Any) -> list[Entity]:
        return [mapping.todo_task(self.connector.name, record)]

    async def fetch_own(self, ids: Sequence[str]) -> AsyncIterator[Page]:
        """Re-pull todos by ``<unionId>/<taskId>`` (or a bare taskId, read as the operator)."""
        records: list[dict[str, Any]] = []
        gone: list[str] = []
        for ref in ids:
            union_id, _, task_id = ref.rpartition("/")
            union_id = union_id or self.connector.config.operator_union_id
            detail = await self.connector.call("GET", self._detail_url(union_id, task_id), lookup=True)
            if detail and detail.get("id"):
                records.append(detail)
            else:
                gone.append(task_id)
        yield Page(records, deleted=gone)
