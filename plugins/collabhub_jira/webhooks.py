"""The Jira webhook receiver: an ASGI app that verifies, deduplicates and turns events into re-pulls.

1. ``X-Hub-Signature: sha256=<hmac>`` over the raw body, compared in constant time; a bad or missing
   signature gets 401 and nothing is recorded.
2. ``X-Atlassian-Webhook-Identifier`` (stable across Jira's retries) goes to ``sink.first_seen``;
   a repeat is acknowledged and dropped.
3. ``jira:issue_deleted`` marks the issue deleted; issue and comment events queue a targeted
   re-pull of the issue (the payload itself is not trusted as the new state: the re-pull reads
   the current issue with the mapping's fields); anything else is kept with ``record_event``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from collabhub.connector import WebhookSink
from collabhub.errors import WebhookRejected
from collabhub.model import EntityKind
from collabhub_jira.crypto import verify

if TYPE_CHECKING:
    from collabhub_jira.connector import JiraConnector

__all__ = ["JiraWebhookApp"]

log = logging.getLogger(__name__)

REFRESH_EVENTS = ("jira:issue_created", "jira:issue_updated", "comment_created", "comment_updated",
                  "comment_deleted", "worklog_updated", "issuelink_created", "issuelink_deleted")
DELETE_EVENTS = ("jira:issue_deleted",)


class JiraWebhookApp:
    """ASGI app for one connector instance; mount it wherever the hub serves webhooks."""

    def __init__(self, connector: JiraConnector, sink: WebhookSink) -> None:
        if connector.config.webhook_secret is None:
            raise ValueError("a Jira webhook endpoint needs webhook_secret")
        self.connector = connector
        self.sink = sink
        self.secret = connector.config.webhook_secret
        self.source = f"jira:{connector.name}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if request.method != "POST":
            response = JSONResponse({"error": "use POST"}, status_code=405, headers={"Allow": "POST"})
        else:
            try:
                response = await self.handle(request)
            except WebhookRejected as exc:
                log.warning("jira webhook for %s rejected: %s", self.connector.name, exc.message)
                response = JSONResponse({"error": exc.message}, status_code=exc.status)
        await response(scope, receive, send)

    def _verify(self, body: bytes, request: Request) -> dict[str, Any]:
        if not verify(body, request.headers.get("x-hub-signature"), self.secret):
            raise WebhookRejected("missing or wrong X-Hub-Signature; check webhook_secret", status=401)
        try:
            payload = json.loads(body)
        except ValueError:
            raise WebhookRejected("the body is not JSON", status=400) from None
        if not isinstance(payload, dict) or not payload.get("webhookEvent"):
            raise WebhookRejected("the body has no webhookEvent", status=400)
        return payload

    async def handle(self, request: Request) -> JSONResponse:
        body = await request.body()
        payload = self._verify(body, request)
        event = str(payload["webhookEvent"])
        identifier = request.headers.get("x-atlassian-webhook-identifier") or hashlib.sha256(body).hexdigest()
        if not await self.sink.first_seen(self.source, identifier):
            return JSONResponse({"status": "duplicate"}, status_code=200)
        issue = payload.get("issue") if isinstance(payload.get("issue"), Mapping) else {}
        issue_id = str(issue.get("id") or "")
        name = self.connector.name
        if event in DELETE_EVENTS and issue_id:
            await self.sink.mark_deleted(name, EntityKind.TASK, [issue_id])
            return JSONResponse({"status": "deleted"}, status_code=202)
        if event in REFRESH_EVENTS and issue_id:
            if not self._in_scope(issue, payload):
                return JSONResponse({"status": "out of scope"}, status_code=200)
            await self.sink.request_refresh(name, EntityKind.TASK, [issue_id])
            return JSONResponse({"status": "refresh queued"}, status_code=202)
        await self.sink.record_event(name, event, payload)
        return JSONResponse({"status": "recorded"}, status_code=202)

    def _in_scope(self, issue: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
        """Issues of other projects are ignored, unless the change moved the issue (the re-pull settles it)."""
        projects = self.connector.config.projects
        if not projects:
            return True
        fields = issue.get("fields") if isinstance(issue.get("fields"), Mapping) else {}
        key = str((fields.get("project") or {}).get("key") or str(issue.get("key", "")).rpartition("-")[0]).upper()
        if key in projects:
            return True
        items = (payload.get("changelog") or {}).get("items") or []
        return any(str(i.get("field", "")).lower() in ("project", "key") for i in items)
