"""The HTTP callback endpoint ("HTTP推送"): verify, decrypt, deduplicate, act, answer ``success`` encrypted.

A request is ``POST ?msg_signature=&timestamp=&nonce=`` (legacy names ``signature``, ``timeStamp``)
with body ``{"encrypt": "..."}``. It is rejected, with nothing recorded, when the signature does not
match, the timestamp is outside ``callback.max_age_seconds`` of the connector's clock (milliseconds
and seconds both accepted), or decryption or the owner-key check fails. A duplicate (same event id)
is acknowledged without being processed again.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from collabhub.connector import WebhookSink
from collabhub.errors import WebhookRejected
from collabhub_dingtalk.crypto import CallbackCrypto, CryptoError
from collabhub_dingtalk.events import event_id_of, handle_event
from collabhub_dingtalk.timeutil import ms

__all__ = ["CallbackApp"]

log = logging.getLogger(__name__)


def _timestamp_seconds(value: str) -> float:
    try:
        number = int(value)
    except ValueError:
        raise WebhookRejected(f"timestamp {value!r} is not a number", status=400) from None
    return number / 1000 if number > 10**11 else float(number)


class CallbackApp:
    """ASGI app for one DingTalk connector's HTTP callbacks."""

    def __init__(self, connector: Any, sink: WebhookSink) -> None:
        settings = connector.config.callback
        if settings is None:
            raise ValueError("the DingTalk connector has no callback settings")
        self.connector = connector
        self.sink = sink
        self.max_age = settings.max_age_seconds
        self.crypto = CallbackCrypto(settings.token.get_secret_value(), settings.aes_key.get_secret_value(),
                                     settings.owner_key or connector.config.app_key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            if request.method != "POST":
                raise WebhookRejected("DingTalk callbacks are POST requests", status=405)
            answer = await self._handle(request)
            response = JSONResponse(answer)
        except WebhookRejected as exc:
            log.warning("DingTalk callback for %s rejected: %s", self.connector.name, exc.message)
            response = JSONResponse({"error": exc.message}, status_code=exc.status)
        await response(scope, receive, send)

    def _open(self, request: Request, body: bytes) -> str:
        query = request.query_params
        signature = query.get("msg_signature") or query.get("signature")
        timestamp = query.get("timestamp") or query.get("timeStamp")
        nonce = query.get("nonce")
        if not (signature and timestamp and nonce):
            raise WebhookRejected("missing msg_signature, timestamp or nonce", status=400)
        try:
            encrypt = json.loads(body).get("encrypt")
        except (ValueError, AttributeError):
            encrypt = None
        if not isinstance(encrypt, str) or not encrypt:
            raise WebhookRejected('the body is not {"encrypt": "..."}', status=400)
        if not self.crypto.verify(signature, timestamp, nonce, encrypt):
            raise WebhookRejected("msg_signature does not match", status=401)
        age = abs(self.connector.now().timestamp() - _timestamp_seconds(timestamp))
        if age > self.max_age:
            raise WebhookRejected(f"timestamp is {age:.0f} s away from now (limit {self.max_age} s)", status=401)
        try:
            return self.crypto.decrypt(encrypt)
        except CryptoError as exc:
            raise WebhookRejected(str(exc), status=400) from None

    async def _handle(self, request: Request) -> dict[str, str]:
        plaintext = self._open(request, await request.body())
        try:
            payload = json.loads(plaintext)
        except ValueError:
            raise WebhookRejected("the decrypted callback is not JSON", status=400) from None
        if not isinstance(payload, dict):
            raise WebhookRejected("the decrypted callback is not a JSON object", status=400)
        event_type = str(payload.get("EventType") or payload.get("eventType") or "")
        if event_type != "check_url":
            event_id = event_id_of(payload, plaintext)
            if await self.sink.first_seen(f"dingtalk:{self.connector.name}", event_id):
                done = await handle_event(self.connector, self.sink, event_type, payload)
                log.info("DingTalk event %s (%s): %s", event_type, event_id, done)
            else:
                log.info("DingTalk event %s (%s) seen before: acknowledged only", event_type, event_id)
        return self.crypto.reply("success", timestamp=str(ms(self.connector.now())), nonce=secrets.token_hex(4))
