"""Contact v3: departments and users, the org chart identity joins on.

Neither has an increment API, so both are re-read in full at most every
``reference_refresh_minutes`` (``contact.*`` events refresh single objects in between). A pass
that ran from the start ends with a sweep (what is gone was deleted); a pass resumed after a
crash cannot know that and skips the sweep.

Cursors: ``{"page_token": ...}`` (departments) or ``{"index": i, "page_token": ...}`` (users,
``index`` into the department list) mid-pass; ``{"completed_at": iso}`` after a pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from collabhub.connector import Page
from collabhub.model import Entity, EntityKind
from collabhub_feishu.mapping import department_entity, person_entity
from collabhub_feishu.streams.base import FeishuStream, pages

__all__ = ["DepartmentsStream", "UsersStream", "department_ids", "user_ids"]

_DEPT_QUERY = {"department_id_type": "open_department_id", "user_id_type": "open_id", "page_size": 50}
_GONE = (40004, 41050, 40001)


def _children_path(root: str) -> str:
    return f"/open-apis/contact/v3/departments/{root}/children"


async def department_ids(stream: FeishuStream) -> list[str]:
    """Open department ids of the whole tree under the root (the root included), cached per run."""
    connector = stream.connector
    cached = connector.department_cache
    if cached is not None and stream.fresh(cached[0].isoformat()):
        return cached[1]
    ids = [stream.cfg.directory_root]
    async for items, _ in pages(connector, "GET", _children_path(stream.cfg.directory_root),
                                {**_DEPT_QUERY, "fetch_child": "true"}):
        ids.extend(str(i["open_department_id"]) for i in items if i.get("open_department_id"))
    connector.department_cache = (stream.now(), ids)
    return ids


async def user_ids(stream: FeishuStream) -> list[str]:
    """Every user's open_id (for the calendar scope), read department by department, cached per run."""
    cached = stream.connector.user_cache
    if cached is not None and stream.fresh(cached[0].isoformat()):
        return cached[1]
    seen: dict[str, None] = {}
    for dept in await department_ids(stream):
        async for items, _ in pages(stream.connector, "GET", "/open-apis/contact/v3/users/find_by_department",
                                    {**_DEPT_QUERY, "department_id": dept}):
            seen.update((str(u["open_id"]), None) for u in items if u.get("open_id"))
    stream.connector.user_cache = (stream.now(), list(seen))
    return list(seen)


class DepartmentsStream(FeishuStream):
    """Departments under ``directory_root`` -> Department."""

    name = "departments"
    kind = EntityKind.DEPARTMENT
    primary_key = "open_department_id"

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        def remember(seen: list[str]) -> None:
            self.connector.department_cache = (self.now(), [self.cfg.directory_root, *seen])

        async for page in self.full_pass(cursor, _children_path(self.cfg.directory_root),
                                         {**_DEPT_QUERY, "fetch_child": "true"}, id_key="open_department_id",
                                         on_complete=remember):
            yield page

    def normalize(self, record: Any) -> Iterable[Entity]:
        return [department_entity(self.connector.name, record)]

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Page]:
        async for page in self.fetch_each(external_ids, "/open-apis/contact/v3/departments/{id}", _DEPT_QUERY,
                                          data_key="department", gone_codes=_GONE):
            yield page


class UsersStream(FeishuStream):
    """Users of every department -> Person (open_id, union_id, user_id, email, mobile, employee_no)."""

    name = "users"
    kind = EntityKind.PERSON
    primary_key = "open_id"

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        cursor = cursor or {}
        if self.fresh(cursor.get("completed_at")):
            return
        resumed = "index" in cursor
        depts = await department_ids(self)
        start = int(cursor.get("index", 0))
        token = cursor.get("page_token")
        seen: set[str] = set()
        for index in range(start, len(depts)):
            async for items, next_token in pages(self.connector, "GET",
                                                 "/open-apis/contact/v3/users/find_by_department",
                                                 {**_DEPT_QUERY, "department_id": depts[index]},
                                                 page_token=token if index == start else None):
                fresh = [u for u in items if u.get("open_id") and u["open_id"] not in seen]
                seen.update(u["open_id"] for u in fresh)
                if next_token:
                    position = {"index": index, "page_token": next_token}
                elif index + 1 < len(depts):
                    position = {"index": index + 1}
                else:
                    position = {"completed_at": self.now().isoformat()}
                last = "completed_at" in position
                if last and not resumed:
                    self.connector.user_cache = (self.now(), sorted(seen))
                yield Page(records=fresh, cursor=position,
                           sweep=frozenset(seen) if last and not resumed else None)

    def normalize(self, record: Any) -> Iterable[Entity]:
        return [person_entity(self.connector.name, record)]

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Page]:
        async for page in self.fetch_each(external_ids, "/open-apis/contact/v3/users/{id}", _DEPT_QUERY,
                                          data_key="user", gone_codes=_GONE):
            yield page
