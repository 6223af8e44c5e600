"""Approval v4 instances of the configured approval codes -> Task, or Booking for resource requests.

``GET /approval/v4/instances`` lists instance codes by *start* time only, so each run lists the
instances started since the last window (with a small overlap), fetches each one, and also
re-fetches the instances still PENDING (their status changes without a new start time).
``approval_instance`` events trigger targeted re-pulls in between.

Cursor::

    {"codes": {approval_code: {"window_end": ms, "pending": [...],
                               "listing": {"start": ms, "end": ms, "page_token": p, "done": bool},
                               "refreshed": [...]}}}          # listing/refreshed only mid-run
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from collabhub.connector import Page
from collabhub.model import Entity, EntityKind
from collabhub_feishu.config import ApprovalSpec
from collabhub_feishu.errors import body_code, skip_codes
from collabhub_feishu.mapping import approval_entities
from collabhub_feishu.streams.base import FeishuStream, chunks, pages

__all__ = ["ApprovalsStream"]

OVERLAP_MS = 10 * 60 * 1000
_GONE = (1390003,)


class ApprovalsStream(FeishuStream):
    """Instances of ``approvals`` -> Task or Booking."""

    name = "approvals"
    kind = EntityKind.TASK
    primary_key = "instance_code"

    def _spec(self, approval_code: Any) -> ApprovalSpec | None:
        return next((s for s in self.cfg.approvals if s.code == approval_code), None)

    async def get_instance(self, instance_code: str) -> dict[str, Any] | None:
        body = await self.connector.call("GET", f"/open-apis/approval/v4/instances/{instance_code}",
                                         params={"user_id_type": "open_id"}, classify=skip_codes(*_GONE))
        data = body.get("data") if body_code(body) == 0 else None
        if not isinstance(data, dict):
            return None
        return {"instance_code": instance_code, **data}

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        state: dict[str, Any] = copy.deepcopy(dict(cursor)) if cursor else {}
        codes: dict[str, Any] = state.setdefault("codes", {})
        for spec in self.cfg.approvals:
            async for page in self._read_code(spec.code, codes, state):
                yield page

    async def _read_code(self, code: str, codes: dict[str, Any], state: dict[str, Any]) -> AsyncIterator[Page]:
        entry: dict[str, Any] = codes.setdefault(code, {})
        pending: set[str] = set(entry.get("pending") or [])
        now_ms = int(self.now().timestamp() * 1000)
        if "listing" not in entry:
            lookback = int(timedelta(days=self.cfg.approval_lookback_days).total_seconds() * 1000)
            start = int(entry["window_end"]) - OVERLAP_MS if entry.get("window_end") else now_ms - lookback
            entry["listing"] = {"start": start, "end": now_ms, "page_token": None, "done": False}
            entry["refreshed"] = []
        listing = entry["listing"]
        refreshed: set[str] = set(entry.get("refreshed") or [])

        async def load(instance_codes: Iterable[str]) -> list[dict[str, Any]]:
            records = []
            for instance_code in instance_codes:
                instance = await self.get_instance(instance_code)
                refreshed.add(instance_code)
                if instance is None or instance.get("status") != "PENDING":
                    pending.discard(instance_code)
                else:
                    pending.add(instance_code)
                if instance is not None:
                    records.append(instance)
            return records

        def snapshot() -> dict[str, Any]:
            entry["pending"] = sorted(pending)
            entry["refreshed"] = sorted(refreshed)
            return copy.deepcopy(state)

        if not listing["done"]:
            params = {"approval_code": code, "start_time": listing["start"], "end_time": listing["end"],
                      "page_size": 100}
            async for items, token in pages(self.connector, "GET", "/open-apis/approval/v4/instances", params,
                                            items_key="instance_code_list", page_token=listing.get("page_token")):
                records = await load(str(c) for c in items)
                listing["page_token"] = token
                listing["done"] = token is None
                yield Page(records=records, cursor=snapshot())
        for batch in chunks(sorted(pending - refreshed), 50):
            records = await load(batch)
            yield Page(records=records, cursor=snapshot())
        codes[code] = {"window_end": listing["end"], "pending": sorted(pending)}
        yield Page(cursor=copy.deepcopy(state))

    def record_id(self, record: Any) -> str | None:
        return f"approval:{record.get('instance_code')}" if isinstance(record, Mapping) else None

    def normalize(self, record: Any) -> Iterable[Entity]:
        return approval_entities(self.connector.name, record, self._spec(record.get("approval_code")))

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Page]:
        for external_id in external_ids:
            if not external_id.startswith("approval:"):
                continue
            instance = await self.get_instance(external_id.split(":", 1)[1])
            yield Page(records=[instance]) if instance else Page(deleted=[external_id])
