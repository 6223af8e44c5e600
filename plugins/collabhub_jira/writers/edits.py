"""Edits of an existing issue: the ``labels`` and ``transition`` channels."""

from __future__ import annotations

from typing import Any

from collabhub.connector import Delivery, DeliveryResult
from collabhub.errors import DeliveryError
from collabhub_jira.writers.base import JiraWriter
from collabhub_jira.writers.workflow import move_to_status

__all__ = ["LabelsWriter", "TransitionWriter"]


class LabelsWriter(JiraWriter):
    """``content: {add: [...], remove: [...]}`` or ``{set: [...]}``: labels on the target issue."""

    channel = "labels"

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        issue = self.issue_ref(delivery)
        content = delivery.content
        ops: list[dict[str, Any]] = []
        if "set" in content:
            ops.append({"set": [str(x) for x in content["set"]]})
        ops += [{"add": str(x)} for x in content.get("add") or []]
        ops += [{"remove": str(x)} for x in content.get("remove") or []]
        bad = [v for op in ops for v in (op.get("set") or [op.get("add") or op.get("remove")]) if " " in str(v)]
        if bad:
            raise DeliveryError(f"labels: Jira labels cannot contain spaces: {bad}", retryable=False)
        if ops:
            await self.call("PUT", f"issue/{issue}", issue=issue, json={"update": {"labels": ops}})
        return DeliveryResult(external_id=issue, url=f"{self.connector.config.base_url}/browse/{issue}",
                              detail={"labels": ops})


class TransitionWriter(JiraWriter):
    """``content: {status: "Done"}`` (target status) or ``{transition: "Approve"}`` (transition name)."""

    channel = "transition"

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        issue = self.issue_ref(delivery)
        status = str(delivery.content.get("status") or "").strip()
        transition = str(delivery.content.get("transition") or "").strip()
        if not (status or transition):
            raise DeliveryError("transition: the delivery names no target status", retryable=False)
        moved = await move_to_status(self, issue, status=status or None, transition=transition or None)
        fingerprint, _ = await self.fingerprint(issue)
        detail = {"transition": moved[0], "from": moved[1]} if moved else {"unchanged": True}
        return DeliveryResult(external_id=issue, url=f"{self.connector.config.base_url}/browse/{issue}",
                              fingerprint=fingerprint, detail=detail)
