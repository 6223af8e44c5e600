"""The ``issues`` stream: incremental JQL reads, the periodic id sweep for deletes, targeted re-pulls.

A read asks for ``updated >= cursor - overlap`` ordered by ``updated, key`` and emits each page
with the cursor after it (see :mod:`collabhub_jira.cursor`), so a restart after any committed page
loses nothing and repeats nothing. A run with no changes costs one search call.

When the last sweep is older than ``sweep_interval_hours``, the read ends with an id-only search
(``fields=id``, 5000 a page) whose complete id set goes out as ``Page.sweep``: every stored issue of
this connector that is not in it is marked deleted. A first (full) read counts as a sweep.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from collabhub.connector import Page, Stream
from collabhub.errors import MappingError
from collabhub.model import Entity, EntityKind
from collabhub_jira.cursor import IssueCursor
from collabhub_jira.mapping import CATEGORIES, IssueMapper, updated_ms
from collabhub_jira.search import IssueSearch

if TYPE_CHECKING:
    from collabhub_jira.connector import JiraConnector

__all__ = ["IssuesStream"]


class IssuesStream(Stream):
    """Jira issues as unified tasks."""

    name = "issues"
    kind = EntityKind.TASK
    cursor_field = "updated"
    primary_key = "id"
    connector: JiraConnector

    def __init__(self, connector: JiraConnector) -> None:
        super().__init__(connector)
        self.config = connector.config
        self.search = IssueSearch(connector)
        self.mapper: IssueMapper = connector.mapper

    @property
    def overlap_ms(self) -> int:
        return int(self.config.overlap_minutes * 60_000)

    def _now(self) -> float:
        return self.connector.context.clock().timestamp()

    def _sweep_due(self, state: IssueCursor) -> bool:
        hours = self.config.sweep_interval_hours
        if hours is None:
            return False
        return state.swept_at is None or self._now() - state.swept_at >= hours * 3600

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        state = IssueCursor.load(cursor)
        if state.empty:
            state.swept_at = self._now()  # a full read sees every issue: nothing to sweep afterwards
        since = state.lower_bound(self.overlap_ms, self.config.floor_ms)
        async with aclosing(self.search.pages(since, self.mapper.fields(), self.config.page_size)) as pages:
            async for issues in pages:
                records = self._fresh(issues, state)
                await self._attach_status_history(records)
                yield Page(records=records, cursor=state.dump())
        if self._sweep_due(state):
            present = await self._sweep()
            state.swept_at = self._now()
            yield Page(cursor=state.dump(), sweep=frozenset(present), deleted_kind=EntityKind.TASK)

    def _fresh(self, issues: list[dict[str, Any]], state: IssueCursor) -> list[dict[str, Any]]:
        """The issues not yet emitted in this version; the cursor advances past each."""
        records = []
        for raw in issues:
            try:
                stamp = updated_ms(raw)
            except MappingError:
                records.append(raw)  # normalize() raises again and the engine quarantines it
                continue
            issue_id = str(raw.get("id"))
            if state.seen(issue_id, stamp):
                continue
            records.append(raw)
            state.advance(issue_id, stamp, str(raw.get("key", "")), self.overlap_ms)
        return records

    async def _sweep(self) -> set[str]:
        """Every issue id in scope, from id-only pages."""
        present: set[str] = set()
        async with aclosing(self.search.pages(self.config.floor_ms, ["id"], self.config.sweep_page_size)) as pages:
            async for issues in pages:
                present.update(str(issue["id"]) for issue in issues)
        return present

    async def _attach_status_history(self, records: Sequence[dict[str, Any]]) -> None:
        """Cloud: give done issues without a resolution date their status history (for ``completed``)."""
        if not (self.config.cloud and self.config.status_history):
            return
        wanted = [str(r["id"]) for r in records if _done_without_resolution(r)]
        if not wanted:
            return
        histories = await self.search.changelogs(wanted)
        for record in records:
            if str(record.get("id")) in histories:
                record["changelog"] = {"histories": histories[str(record["id"])]}

    def normalize(self, record: Any) -> Iterable[Entity]:
        return [self.mapper.task(record)]

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Page]:
        """Re-pull these issues now (webhook-driven). Ids that are gone or out of scope come back deleted."""
        ids = [str(i) for i in dict.fromkeys(external_ids)]
        records = await self.search.by_ids(ids, self.mapper.fields())
        scope = set(self.config.projects)
        kept = [r for r in records if not scope or _project(r) in scope]
        await self._attach_status_history(kept)
        found = {str(r.get("id")) for r in kept}
        yield Page(records=kept, deleted=[i for i in ids if i not in found], deleted_kind=EntityKind.TASK)


def _project(record: Mapping[str, Any]) -> str:
    fields = record.get("fields") or {}
    return str((fields.get("project") or {}).get("key") or str(record.get("key", "")).rpartition("-")[0]).upper()


def _done_without_resolution(record: Mapping[str, Any]) -> bool:
    fields = record.get("fields") or {}
    category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
    return CATEGORIES.get(category) is not None and category == "done" and not fields.get("resolutiondate")
