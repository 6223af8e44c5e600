"""The change-notification endpoint (an ASGI app; mount it at ``notifications.url``).

* ``POST ?validationToken=…``: the subscription handshake; the token is echoed as ``text/plain``.
* ``POST {"value": [...]}``: every item's ``clientState`` is checked; items that fail are
  dropped, and a request with no genuine item is rejected (403) with nothing recorded. The
  answer is ``202 Accepted`` at once; the work runs after the response (Graph wants < 3 s).
* change notifications: ``deleted`` marks the meeting deleted; ``created``/``updated`` queue a
  targeted re-pull of ``users/{mailbox}/events/{id}``; replays are dropped (``first_seen``).
* lifecycle: ``reauthorizationRequired`` -> reauthorize; ``subscriptionRemoved`` -> subscribe
  again and resync that mailbox; ``missed`` -> resync that mailbox (its cursor scope is dropped).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from collabhub.connector import WebhookSink
from collabhub.errors import WebhookRejected
from collabhub.model import EntityKind

if TYPE_CHECKING:
    from .connector import M365Connector

__all__ = ["NotificationReceiver", "build_webhook_app"]

log = logging.getLogger(__name__)


def _rejected(exc: WebhookRejected) -> Response:
    return JSONResponse({"error": exc.message}, status_code=exc.status)


class NotificationReceiver:
    """Verifies notifications at once and acts on them after answering."""

    def __init__(self, connector: M365Connector, sink: WebhookSink) -> None:
        self.connector = connector
        self.sink = sink
        self.source = f"m365:{connector.name}"

    async def receive(self, request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            return PlainTextResponse(token, status_code=200)
        try:
            payload = json.loads(await request.body())
            notes = payload["value"]
            if not isinstance(notes, list):
                raise TypeError("value is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            return _rejected(WebhookRejected(f"not a Graph notification payload: {exc}", status=400))
        accepted: list[tuple[Mapping[str, Any], str]] = []
        for note in notes:
            tag = self.connector.subscriptions.verify(note.get("clientState")) if isinstance(note, Mapping) else None
            if tag is None:
                log.warning("%s: dropped a notification with a wrong clientState (subscription %s)", self.source,
                            note.get("subscriptionId") if isinstance(note, Mapping) else "?")
                continue
            accepted.append((note, tag))
        if not accepted:
            return _rejected(WebhookRejected("clientState does not match any subscription of this hub", status=403))
        return Response(status_code=202, background=BackgroundTask(self.process, accepted))

    async def process(self, accepted: list[tuple[Mapping[str, Any], str]]) -> None:
        for note, tag in accepted:
            try:
                await self.handle(note, tag)
            except Exception:  # one bad notification must not stop the others
                log.exception("%s: handling a notification failed", self.source)

    async def handle(self, note: Mapping[str, Any], tag: str) -> None:
        mailbox = await self.connector.subscriptions.mailbox_for(tag)
        name = self.connector.name
        lifecycle = note.get("lifecycleEvent")
        if lifecycle:
            subscription = str(note.get("subscriptionId") or "")
            if lifecycle == "reauthorizationRequired":
                await self.connector.subscriptions.reauthorize(subscription)
            elif lifecycle == "subscriptionRemoved":
                if mailbox is not None:
                    await self.connector.subscriptions.create(mailbox)
                    await self.sink.request_resync(name, "events", "subscription removed", scope=mailbox)
            elif lifecycle == "missed":
                if mailbox is not None:
                    await self.sink.request_resync(name, "events", "change notifications were missed", scope=mailbox)
            else:
                log.info("%s: ignoring lifecycle event %r", self.source, lifecycle)
            return
        if mailbox is None:
            log.info("%s: notification for a mailbox no longer in scope; ignored", self.source)
            return
        data = note.get("resourceData") or {}
        event_id = str(data.get("id") or str(note.get("resource") or "").rsplit("/", 1)[-1])
        change = str(note.get("changeType") or "")
        key = f"{note.get('subscriptionId')}:{change}:{event_id}:{data.get('@odata.etag', '')}"
        if not event_id or not await self.sink.first_seen(self.source, key):
            return
        if change == "deleted":
            await self.sink.mark_deleted(name, EntityKind.MEETING, [event_id])
        else:
            await self.sink.request_refresh(name, EntityKind.MEETING, [f"users/{mailbox}/events/{event_id}"])


def build_webhook_app(connector: M365Connector, sink: WebhookSink) -> Starlette:
    receiver = NotificationReceiver(connector, sink)
    return Starlette(routes=[Route("/{path:path}", receiver.receive, methods=["POST"])])
