"""The Feishu event subscription endpoint (an ASGI app the hub mounts for this connector).

Order of checks, none of which records anything until all have passed:

1. ``X-Lark-Signature`` over the raw body and ``X-Lark-Request-Timestamp`` within
   ``event_max_age`` of the hub's clock, when the push carries them and an Encrypt Key is set;
2. the body is JSON; ``{"encrypt": ...}`` is decrypted with ``SHA256(encrypt_key)`` (AES-256-CBC);
3. ``url_verification``: the token is checked and ``{"challenge"}`` answered at once (no I/O;
   like the official SDK it needs no signature);
4. any other push must be signed (when an Encrypt Key is configured);
5. the verification token (``header.token`` in schema 2.0, ``token`` in v1);
6. dedup on ``header.event_id`` (v1: ``uuid``) through ``sink.first_seen`` (a replay: 200, nothing done).

The answer (200 ``{"msg": "success"}``) goes out before the event is processed, well inside
Feishu's 3 s; processing then asks the hub for targeted re-pulls, deletions or resyncs.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from collabhub.connector import WebhookSink
from collabhub.errors import WebhookRejected
from collabhub.model import EntityKind
from collabhub_feishu.crypto import CryptoError, decrypt_event, signature_matches

if TYPE_CHECKING:
    from collabhub_feishu.connector import FeishuConnector

__all__ = ["H_NONCE", "H_SIGNATURE", "H_TIMESTAMP", "FeishuWebhookApp"]

log = logging.getLogger(__name__)

H_TIMESTAMP = "X-Lark-Request-Timestamp"
H_NONCE = "X-Lark-Request-Nonce"
H_SIGNATURE = "X-Lark-Signature"

# event type -> (entity kind, key in the event payload holding the object's id)
_REFRESH: dict[str, tuple[EntityKind, str]] = {
    "contact.user.created_v3": (EntityKind.PERSON, "object.open_id"),
    "contact.user.updated_v3": (EntityKind.PERSON, "object.open_id"),
    "contact.department.created_v3": (EntityKind.DEPARTMENT, "object.open_department_id"),
    "contact.department.updated_v3": (EntityKind.DEPARTMENT, "object.open_department_id"),
    "vc.room.created_v1": (EntityKind.RESOURCE, "room.room_id"),
    "vc.room.updated_v1": (EntityKind.RESOURCE, "room.room_id"),
    "task.task.updated_v1": (EntityKind.TASK, "task_id"),
    "task.task.update_tenant_v1": (EntityKind.TASK, "task_id"),
}
_DELETE: dict[str, tuple[EntityKind, str]] = {
    "contact.user.deleted_v3": (EntityKind.PERSON, "object.open_id"),
    "contact.department.deleted_v3": (EntityKind.DEPARTMENT, "object.open_department_id"),
    "vc.room.deleted_v1": (EntityKind.RESOURCE, "room.room_id"),
}
_CALENDAR_EVENTS = {"calendar.calendar.event.changed_v4", "calendar.calendar.changed_v4"}


def _dig(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _reject(status: int, message: str) -> JSONResponse:
    return JSONResponse({"msg": message}, status_code=status)


class FeishuWebhookApp:
    """ASGI endpoint for Feishu event pushes (schema 2.0 and v1) and the URL check."""

    def __init__(self, connector: FeishuConnector, sink: WebhookSink) -> None:
        self.connector = connector
        self.sink = sink
        cfg = connector.config
        self._encrypt_key = cfg.encrypt_key.get_secret_value() if cfg.encrypt_key else None
        self._token = cfg.verification_token.get_secret_value() if cfg.verification_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if request.method != "POST":
            await _reject(405, "POST only")(scope, receive, send)
            return
        raw = await request.body()
        try:
            response = self.handle(raw, request.headers)
        except WebhookRejected as exc:
            log.warning("feishu webhook rejected (%s): %s", exc.status, exc.message)
            response = _reject(exc.status, exc.message)
        else:
            if isinstance(response, dict):  # a verified event: dedup, answer, then process
                response = await self._accept(response)
        await response(scope, receive, send)

    # -- verification (pure: nothing is recorded here) ---------------------------------------

    def handle(self, raw: bytes, headers: Mapping[str, str]) -> JSONResponse | dict[str, Any]:
        """Verify one push: a response to send now, or the verified event to process."""
        try:
            outer = json.loads(raw)
        except ValueError as exc:
            raise WebhookRejected("the body is not JSON", status=400) from exc
        if not isinstance(outer, dict):
            raise WebhookRejected("the body is not a JSON object", status=400)
        signed = all(headers.get(h) for h in (H_TIMESTAMP, H_NONCE, H_SIGNATURE))
        if self._encrypt_key is not None and signed:
            self._check_signature(raw, headers)  # over the raw bytes, before anything is parsed further
        payload = outer
        if "encrypt" in outer:
            if self._encrypt_key is None:
                raise WebhookRejected("an encrypted push arrived but no encrypt_key is configured", status=400)
            try:
                payload = json.loads(decrypt_event(str(outer["encrypt"]), self._encrypt_key))
            except CryptoError as exc:
                raise WebhookRejected(f"cannot decrypt the push: {exc}", status=400) from exc
            except ValueError as exc:
                raise WebhookRejected("the decrypted push is not JSON", status=400) from exc
            if not isinstance(payload, dict):
                raise WebhookRejected("the decrypted push is not a JSON object", status=400)
        elif self._encrypt_key is not None:
            raise WebhookRejected("a plaintext push arrived but the app encrypts its events", status=400)
        if payload.get("type") == "url_verification":  # the SDK does not require a signature here either
            self._check_token(payload.get("token"))
            return JSONResponse({"challenge": payload.get("challenge", "")})
        if self._encrypt_key is not None and not signed:
            raise WebhookRejected("the push is not signed (X-Lark-Signature headers missing)", status=401)
        token = _dig(payload, "header.token") if payload.get("schema") == "2.0" else payload.get("token")
        self._check_token(token)
        return payload

    def _check_token(self, token: Any) -> None:
        if self._token is None:
            return
        if not isinstance(token, str) or not hmac.compare_digest(token, self._token):
            raise WebhookRejected("verification token mismatch", status=401)

    def _check_signature(self, raw: bytes, headers: Mapping[str, str]) -> None:
        assert self._encrypt_key is not None
        timestamp, nonce, signature = (str(headers.get(h)) for h in (H_TIMESTAMP, H_NONCE, H_SIGNATURE))
        if not signature_matches(signature, timestamp, nonce, self._encrypt_key, raw):
            raise WebhookRejected("X-Lark-Signature does not match the body", status=401)
        try:
            sent = int(timestamp)
        except ValueError as exc:
            raise WebhookRejected("X-Lark-Request-Timestamp is not a number", status=401) from exc
        if sent > 10**11:  # milliseconds
            sent //= 1000
        age = abs(self.connector.now().timestamp() - sent)
        if age > self.connector.config.event_max_age:
            raise WebhookRejected(f"the push is {int(age)} s old (limit {self.connector.config.event_max_age} s): "
                                  "a replay or a skewed clock", status=401)

    # -- acceptance and processing -------------------------------------------------------------

    async def _accept(self, payload: dict[str, Any]) -> JSONResponse:
        event_id = _dig(payload, "header.event_id") if payload.get("schema") == "2.0" else payload.get("uuid")
        if not event_id:
            return _reject(400, "the event has no event_id (schema 2.0) or uuid (v1)")
        if not await self.sink.first_seen(f"feishu:{self.connector.name}", str(event_id)):
            return JSONResponse({"msg": "success", "duplicate": True})
        return JSONResponse({"msg": "success"}, background=BackgroundTask(self.process, payload))

    async def process(self, payload: Mapping[str, Any]) -> None:
        """Act on one verified, first-seen event."""
        name = self.connector.name
        if payload.get("schema") == "2.0":
            event_type = str(_dig(payload, "header.event_type") or "")
            event = payload.get("event") or {}
        else:  # v1 "event_callback": the type sits in event.type
            event = payload.get("event") or {}
            event_type = str(event.get("type") or payload.get("type") or "")
        try:
            if event_type in _REFRESH:
                kind, path = _REFRESH[event_type]
                ident = _dig(event, path)
                if ident:
                    await self.sink.request_refresh(name, kind, [str(ident)])
            elif event_type in _DELETE:
                kind, path = _DELETE[event_type]
                ident = _dig(event, path)
                if ident:
                    await self.sink.mark_deleted(name, kind, [str(ident)])
            elif event_type in _CALENDAR_EVENTS:
                calendar_id = event.get("calendar_id")
                await self.sink.request_resync(name, "events", event_type, scope=str(calendar_id) if calendar_id
                                               else None)
            elif event_type == "approval_instance":
                code = event.get("instance_code")
                if code:  # routed to the tasks stream (kind task) whatever entity the instance becomes
                    await self.sink.request_refresh(name, EntityKind.TASK, [f"approval:{code}"])
            else:  # card actions, messages and anything else: keep it for the rules
                await self.sink.record_event(name, event_type or "unknown", dict(payload))
        except Exception:  # the push was acknowledged already; log and keep serving
            log.exception("processing Feishu event %s failed", event_type)
