"""Shared plumbing of the Jira writers: the target issue, paced and classified calls, rich text, echo."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

from collabhub.connector import Delivery, Writer
from collabhub.errors import Action, ConnectorError, DeliveryError, ErrorResolution
from collabhub.http import json_body
from collabhub.model import EntityKind, Task, echo_fingerprint
from collabhub_jira.adf import text_to_adf

if TYPE_CHECKING:
    from collabhub_jira.connector import JiraConnector

__all__ = ["JiraWriter"]


def _delivery_error(exc: ConnectorError) -> DeliveryError:
    action = exc.resolution.action
    retryable = action in (Action.RETRY, Action.RATE_LIMITED)
    return DeliveryError(str(exc), retryable=retryable, retry_after=exc.resolution.retry_after)


class JiraWriter(Writer):
    """Shared plumbing: target issue, paced and classified calls, rich text, echo fingerprints."""

    connector: JiraConnector

    def issue_ref(self, delivery: Delivery) -> str:
        ref = delivery.target.get("issue")
        entity = delivery.entity
        if not ref and entity is not None and entity.kind is EntityKind.TASK \
                and entity.source.connector == self.connector.name:
            ref = entity.source.external_id
        if not ref:
            raise DeliveryError(f"{self.channel}: the delivery names no Jira issue (target.issue)", retryable=False)
        return str(ref)

    async def call(self, method: str, path: str, *, issue: str | None = None, allow: Sequence[int] = (),
                   once: bool = False, **kwargs: Any) -> httpx.Response:
        """One API call; statuses in ``allow`` come back to the caller instead of raising."""
        connector = self.connector

        def classify(response: httpx.Response) -> ErrorResolution:
            if response.status_code in allow:
                return ErrorResolution(Action.SKIP)
            return connector.classify(response)

        if issue is not None and connector.config.issue_write_limit and method != "GET":
            await connector.pacer.wait(issue)
        send = connector.request_once if once else connector.request
        try:
            return await send(method, connector.api(path), classify=classify, **kwargs)
        except ConnectorError as exc:
            raise _delivery_error(exc) from exc

    def rich(self, text: str | None) -> Any:
        """Rich text as this deployment wants it: ADF on Cloud (v3), a string on Data Center."""
        return text_to_adf(text) if self.connector.config.cloud else text

    async def fingerprint(self, issue: str) -> tuple[str | None, Task]:
        """Read the issue back and fingerprint what a later pull will see (echo suppression)."""
        response = await self.call("GET", f"issue/{issue}", params={"fields": ",".join(self.connector.mapper.fields())})
        task = self.connector.mapper.task(json_body(response, connector=self.connector.name))
        return echo_fingerprint(task), task
