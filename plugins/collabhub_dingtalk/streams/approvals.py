"""Approval instances of the configured process codes (-> Tasks or Bookings).

``POST /v1.0/workflow/processes/instanceIds/query {processCode, startTime, endTime, nextToken,
maxResults<=20}`` finds instances started in a window; ``GET /v1.0/workflow/processInstances?
processInstanceId=`` reads each. Instances still ``RUNNING`` are re-read on later runs (their
start time is behind the window), so approvals that finish later are seen finishing.

Cursor between runs: ``{"since": ms, "running": {id: processCode}}``. Inside a run it also holds the fixed
window end, the process code being listed and its ``nextToken``, then the re-check position.
Two streams share this code: ``approval_tasks`` (kind task) and ``approval_bookings`` (kind booking),
each reading the process codes configured with that kind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar

from collabhub.connector import Page
from collabhub.model import Entity, EntityKind
from collabhub_dingtalk import mapping
from collabhub_dingtalk.settings import ApprovalProcess
from collabhub_dingtalk.streams.base import DingTalkStream
from collabhub_dingtalk.timeutil import ms

__all__ = ["ApprovalBookings", "ApprovalTasks"]

PAGE = 20
RECHECK_BATCH = 20


class _Approvals(DingTalkStream):
    approval_kind: ClassVar[str]
    primary_key = "processInstanceId"

    def processes(self) -> dict[str, ApprovalProcess]:
        return {p.process_code: p for p in self.connector.config.approvals if p.kind == self.approval_kind}

    async def _instance(self, instance_id: str, code: str | None) -> dict[str, Any] | None:
        body = await self.connector.call("GET", self.connector.api("/v1.0/workflow/processInstances"), lookup=True,
                                         params={"processInstanceId": instance_id})
        if not body or not isinstance(body.get("result"), Mapping):
            return None
        result = dict(body["result"])
        originator = result.get("originatorUserId")
        approvers = [t.get("userId") for t in result.get("tasks") or [] if isinstance(t, Mapping)]
        for userid in [originator, *approvers]:
            if userid:
                await self.connector.lookup_user(str(userid))  # fills the directory cache for mapping
        return {"processInstanceId": instance_id, "processCode": code or result.get("processCode"),
                "result": result}

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        processes = self.processes()
        state = dict(cursor or {})
        since = int(state.get("since") or ms(self.connector.window_start()))
        until = int(state.get("until") or ms(self.connector.now()))
        running: dict[str, str] = dict(state.get("running") or {})  # instance id -> process code
        recheck: list[list[str]] = [list(p) for p in state["recheck"]] if "recheck" in state else sorted(
            [i, c] for i, c in running.items())
        codes = sorted(processes)
        code_index = int(state.get("code") or 0)
        token = state.get("next")
        seen: set[str] = set(state.get("seen") or [])
        base = {"since": since, "until": until}
        while code_index < len(codes):
            code = codes[code_index]
            body = await self.connector.call(
                "POST", self.connector.api("/v1.0/workflow/processes/instanceIds/query"),
                json={"processCode": code, "startTime": since, "endTime": until, "maxResults": PAGE,
                      "nextToken": token if token not in (None, "") else 0}) or {}
            result = body.get("result") or {}
            found = await asyncio.gather(*(self._instance(str(i), code) for i in result.get("list") or []))
            records = [r for r in found if r is not None]
            for record in records:
                seen.add(record["processInstanceId"])
                if record["result"].get("status") in ("RUNNING", "NEW"):
                    running[record["processInstanceId"]] = code
            token = result.get("nextToken")
            if token in (None, "", 0, "0"):
                code_index, token = code_index + 1, None
            yield Page(records, cursor={**base, "running": dict(running), "recheck": [list(p) for p in recheck],
                                        "code": code_index, "next": token, "seen": sorted(seen)})
        while recheck:
            batch, recheck = recheck[:RECHECK_BATCH], recheck[RECHECK_BATCH:]
            records = []
            for instance_id, code in batch:
                if instance_id in seen:
                    continue  # read while listing: its state is recorded already
                running.pop(instance_id, None)
                record = await self._instance(instance_id, code)
                if record is None:
                    continue
                records.append(record)
                if record["result"].get("status") in ("RUNNING", "NEW"):
                    running[instance_id] = code
            if recheck:
                yield Page(records, cursor={**base, "running": dict(running), "recheck": [list(p) for p in recheck],
                                            "code": code_index, "seen": sorted(seen)})
            else:
                yield Page(records, cursor={"since": until + 1, "running": dict(running)})
                return
        yield Page([], cursor={"since": until + 1, "running": dict(running)})

    def normalize(self, record: Any) -> list[Entity]:
        process = self.processes().get(str(record.get("processCode"))) or ApprovalProcess(
            process_code=str(record.get("processCode")), kind=self.approval_kind)  # type: ignore[arg-type]
        return [mapping.approval_entity(self.connector.name, record, process, self.connector.users_by_id)]

    async def fetch_own(self, ids: Sequence[str]) -> AsyncIterator[Page]:
        """Re-pull instances by ``<processCode>/<processInstanceId>``."""
        processes = self.processes()
        records = []
        for ref in ids:
            code, _, instance_id = ref.rpartition("/")
            if code not in processes:
                continue
            record = await self._instance(instance_id, code)
            if record is not None:
                records.append(record)
        yield Page(records)


class ApprovalTasks(_Approvals):
    """Approvals configured with ``kind: task``."""

    name = "approval_tasks"
    kind = EntityKind.TASK
    approval_kind = "task"
    refresh_prefix = "approval"


class ApprovalBookings(_Approvals):
    """Approvals configured with ``kind: booking`` (e.g. a room-request form)."""

    name = "approval_bookings"
    kind = EntityKind.BOOKING
    approval_kind = "booking"
    refresh_prefix = "approval_booking"
