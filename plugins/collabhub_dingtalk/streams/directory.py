"""Directory streams: departments and users, from the legacy contacts API (not counted in the quota).

* ``departments``: breadth-first ``POST /topapi/v2/department/listsub {dept_id}`` from the root;
  the last page sweeps departments no longer present.
* ``users``: department ids by ``/topapi/v2/department/listsubid``, then per department
  ``/topapi/v2/user/list {dept_id, cursor, size}`` (``has_more``/``next_cursor``); a user in several
  departments is emitted once; the last page sweeps people who left.

``directory_every_minutes`` lets a full walk be skipped while the last one is recent (change
events keep the directory fresh in between).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from collabhub.connector import Page
from collabhub.model import Entity, EntityKind
from collabhub_dingtalk import mapping
from collabhub_dingtalk.streams.base import DingTalkStream

__all__ = ["Departments", "Users", "walk_users"]

USER_PAGE = 100


def _recent(stream: DingTalkStream, cursor: Mapping[str, Any] | None) -> bool:
    every = stream.connector.config.directory_every_minutes
    done_at = (cursor or {}).get("done_at")
    if not every or not done_at or set(cursor or {}) != {"done_at"}:
        return False
    return stream.connector.now() - datetime.fromisoformat(done_at) < timedelta(minutes=every)


def _done(stream: DingTalkStream) -> dict[str, Any]:
    return {"done_at": stream.connector.now().isoformat()} if stream.connector.config.directory_every_minutes else {}


async def _child_ids(stream_connector: Any, dept_id: int) -> list[int]:
    body = await stream_connector.call("POST", stream_connector.oapi("/topapi/v2/department/listsubid"),
                                       json={"dept_id": dept_id})
    return [int(d) for d in ((body or {}).get("result") or {}).get("dept_id_list") or []]


async def all_department_ids(connector: Any) -> list[int]:
    """Every department id under (and including) the root, breadth first."""
    out, queue = [], [connector.config.root_department]
    while queue:
        dept = queue.pop(0)
        out.append(dept)
        queue.extend(await _child_ids(connector, dept))
    return out


async def _users_page(connector: Any, dept: int, cursor: int) -> tuple[list[dict[str, Any]], int | None]:
    body = await connector.call("POST", connector.oapi("/topapi/v2/user/list"),
                                json={"dept_id": dept, "cursor": cursor, "size": USER_PAGE,
                                      "contain_access_limit": False, "language": "zh_CN"})
    result = (body or {}).get("result") or {}
    users = [u for u in result.get("list") or [] if isinstance(u, Mapping)]
    return users, (int(result["next_cursor"]) if result.get("has_more") else None)


async def walk_users(connector: Any) -> AsyncIterator[tuple[int, list[dict[str, Any]]]]:
    """Every user page of every department (for the calendar/todo scope when no list is configured)."""
    for dept in await all_department_ids(connector):
        cursor: int | None = 0
        while cursor is not None:
            users, cursor = await _users_page(connector, dept, cursor)
            connector.remember_users(users)
            yield dept, users


class Departments(DingTalkStream):
    """Departments under the configured root."""

    name = "departments"
    kind = EntityKind.DEPARTMENT
    primary_key = "dept_id"
    refresh_prefix = "dept"

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        if _recent(self, cursor):
            return
        state = dict(cursor or {})
        queue: list[int] = list(state.get("queue") or [self.connector.config.root_department])
        seen: list[str] = list(state.get("seen") or [])
        while queue:
            dept = queue[0]
            body = await self.connector.call("POST", self.connector.oapi("/topapi/v2/department/listsub"),
                                             json={"dept_id": dept, "language": "zh_CN"})
            children = [d for d in (body or {}).get("result") or [] if isinstance(d, Mapping)]
            queue = queue[1:] + [int(d["dept_id"]) for d in children]
            seen.extend(str(d["dept_id"]) for d in children)
            if queue:
                yield Page(children, cursor={"queue": list(queue), "seen": list(seen)})
            else:
                yield Page(children, cursor=_done(self), sweep=frozenset(seen))

    def normalize(self, record: Any) -> list[Entity]:
        return [mapping.department(self.connector.name, record, root=self.connector.config.root_department)]

    async def fetch_own(self, ids: Sequence[str]) -> AsyncIterator[Page]:
        records, gone = [], []
        for dept in ids:
            body = await self.connector.call("POST", self.connector.oapi("/topapi/v2/department/get"),
                                             lookup=True, json={"dept_id": int(dept), "language": "zh_CN"})
            if body and isinstance(body.get("result"), Mapping):
                records.append(body["result"])
            else:
                gone.append(str(dept))
        yield Page(records, deleted=gone)


class Users(DingTalkStream):
    """People of every department (keyed by unionId)."""

    name = "users"
    kind = EntityKind.PERSON
    primary_key = "unionid"
    refresh_prefix = "user"

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        if _recent(self, cursor):
            return
        state = dict(cursor or {})
        depts: list[int] = list(state.get("depts") or await all_department_ids(self.connector))
        position: int = int(state.get("cursor") or 0)
        seen: set[str] = set(state.get("seen") or [])
        while depts:
            users, nxt = await _users_page(self.connector, depts[0], position)
            self.connector.remember_users(users)
            fresh = [u for u in users if u.get("unionid") and u["unionid"] not in seen]
            seen.update(u["unionid"] for u in fresh)
            if nxt is not None:
                position = nxt
            else:
                depts, position = depts[1:], 0
            if depts:
                yield Page(fresh, cursor={"depts": depts, "cursor": position, "seen": sorted(seen)})
            else:
                self.connector.remember_scope(seen)
                yield Page(fresh, cursor=_done(self), sweep=frozenset(seen))

    def normalize(self, record: Any) -> list[Entity]:
        return [mapping.person(self.connector.name, record)]

    async def fetch_own(self, ids: Sequence[str]) -> AsyncIterator[Page]:
        records = []
        for userid in ids:
            self.connector.users_by_id.pop(userid, None)
            user = await self.connector.lookup_user(userid)
            if user is not None:
                records.append(user)
        yield Page(records)
