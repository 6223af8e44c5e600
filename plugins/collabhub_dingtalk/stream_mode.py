"""Stream mode: events over the ``dingtalk-stream`` package's WebSocket client, for sites with no public address.

The package's :class:`dingtalk_stream.DingTalkStreamClient` opens the connection, routes frames and
sends the ACKs; our :class:`HubEventHandler` feeds each EVENT frame to the same handling as the HTTP
callbacks (:func:`collabhub_dingtalk.events.handle_event`), deduplicated on the frame's event id.
The only change to the client is that ``open_connection`` uses the configured API base URL, proxy
and CA bundle (the package hard-codes ``api.dingtalk.com``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import platform
import socket
from typing import Any

import dingtalk_stream
import httpx
from dingtalk_stream import AckMessage, EventMessage

from collabhub.connector import WebhookSink
from collabhub.http.client import ssl_verify
from collabhub_dingtalk.events import handle_event

__all__ = ["HubEventHandler", "build_stream_client", "run_stream_client"]

log = logging.getLogger(__name__)


class HubEventHandler(dingtalk_stream.EventHandler):
    """Every EVENT frame -> the hub (dedup by ``headers.eventId``)."""

    def __init__(self, connector: Any, sink: WebhookSink) -> None:
        super().__init__()
        self.connector = connector
        self.sink = sink

    async def process(self, event: EventMessage) -> tuple[int, str]:
        headers = event.headers
        event_type = str(headers.event_type or "")
        event_id = str(headers.event_id or headers.message_id or "")
        try:
            if event_id and not await self.sink.first_seen(f"dingtalk:{self.connector.name}", event_id):
                return AckMessage.STATUS_OK, "OK"
            done = await handle_event(self.connector, self.sink, event_type, event.data or {})
            log.info("DingTalk stream event %s (%s): %s", event_type, event_id, done)
        except Exception as exc:  # the ack must still go out; DingTalk re-delivers on a non-200 ack
            log.exception("DingTalk stream event %s (%s) failed", event_type, event_id)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, f"{type(exc).__name__}"
        return AckMessage.STATUS_OK, "OK"


class _Client(dingtalk_stream.DingTalkStreamClient):
    """The package's client, opening its connection through the connector's settings."""

    def __init__(self, connector: Any) -> None:
        config = connector.config
        super().__init__(dingtalk_stream.Credential(config.app_key, config.app_secret.get_secret_value()),
                         logger=logging.getLogger("dingtalk_stream.client"))
        self._connector = connector

    def open_connection(self) -> dict[str, Any] | None:
        config = self._connector.config
        topics = [{"type": "EVENT", "topic": "*"}] if self._is_event_required else []
        topics += [{"type": "CALLBACK", "topic": t} for t in self.callback_handler_map]
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": topics, "ua": f"collabhub dingtalk-stream/{platform.python_version()}",
                "localIp": _local_ip()}
        try:
            with httpx.Client(proxy=config.http.proxy, verify=ssl_verify(config.http.verify),
                              timeout=config.http.timeout) as client:
                response = client.post(f"{config.api_base_url}/v1.0/gateway/connections/open", json=body)
                response.raise_for_status()
                return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.error("opening the DingTalk stream connection failed: %s", exc)
            return None


def _local_ip() -> str:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("10.255.255.255", 1))
            return str(sock.getsockname()[0])
    except OSError:
        return ""


def build_stream_client(connector: Any, sink: WebhookSink) -> dingtalk_stream.DingTalkStreamClient:
    """A ``DingTalkStreamClient`` whose events go to the hub (not started)."""
    client = _Client(connector)
    client.register_all_event_handler(HubEventHandler(connector, sink))
    return client


async def run_stream_client(connector: Any, sink: WebhookSink) -> None:
    """Run the stream client until cancelled (it reconnects by itself)."""
    client = build_stream_client(connector, sink)
    log.info("DingTalk stream mode started for %s", connector.name)
    await client.start()


def frame(event_type: str, event_id: str, data: dict[str, Any], *, born_ms: int = 0) -> dict[str, Any]:
    """An EVENT frame as the gateway sends it (for tests and the simulator)."""
    return {"specVersion": "1.0", "type": "EVENT",
            "headers": {"contentType": "application/json", "eventBornTime": str(born_ms), "eventId": event_id,
                        "eventType": event_type, "messageId": f"msg-{event_id}", "topic": "*",
                        "time": str(born_ms)},
            "data": json.dumps(data, ensure_ascii=False)}


async def wait_cancelled(task: asyncio.Task[Any], attempts: int = 5) -> None:
    """Cancel a task running ``client.start()`` (which swallows one cancellation and sleeps)."""
    for _ in range(attempts):
        if task.done():
            return
        task.cancel()
        await asyncio.wait([task], timeout=0.2)
