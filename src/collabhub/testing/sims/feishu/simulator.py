"""The Feishu (Lark) simulator: token endpoint, contact, calendar, rooms, tasks, approvals, IM, bots, event pushes.

::

    with FeishuSimulator(generate_company()) as sim:
        settings = sim.connector_settings()        # app_id/secret, base_url, token, encrypt key, ...
        sim.expire_tokens()                        # every tenant_access_token is now invalid (99991663)
        sim.faults.rate_limit(2)                   # 99991400 with x-ogw-ratelimit-reset
        sim.rate_limit_status = 200                # ... inside an HTTP 200 body, as older APIs answer
        sim.revoke_scope("calendar:calendar:readonly")   # 99991672 naming the scope
        sim.push_event(hub_url, "task.task.updated_v1", {"task_id": guid})   # encrypted and signed

Requests without a valid ``Authorization: Bearer <tenant_access_token>`` answer 99991661/99991663.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from collabhub.testing.company import Company
from collabhub.testing.sims.feishu.api_calendar import calendar_routes
from collabhub.testing.sims.feishu.api_directory import directory_routes
from collabhub.testing.sims.feishu.api_im import ImRoutes
from collabhub.testing.sims.feishu.api_work import work_routes
from collabhub.testing.sims.feishu.responses import error
from collabhub.testing.sims.feishu.seed import ROOM_APPROVAL, XDEPT_APPROVAL, seed_company
from collabhub.testing.sims.feishu.signing import encrypt_push, push_signature
from collabhub.testing.sims.feishu.state import FeishuState
from collabhub.testing.simulator import Simulator

__all__ = ["DEMO_APP_ID", "FeishuSimulator"]

DEMO_APP_ID = "cli_a5sim0feishu0demo"
DEMO_APP_SECRET = "sim-feishu-app-secret"
DEMO_VERIFICATION_TOKEN = "sim-verification-token"
DEMO_ENCRYPT_KEY = "sim-encrypt-key"
DEMO_BOT_HOOK = "5e0b3c1d-sim-0000-0000-bot000000001"
DEMO_BOT_SECRET = "sim-bot-secret"
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"

SCOPES: tuple[tuple[str, str], ...] = (
    ("/open-apis/contact/", "contact:contact.base:readonly"),
    ("/open-apis/calendar/", "calendar:calendar:readonly"),
    ("/open-apis/vc/", "vc:room:readonly"),
    ("/open-apis/task/", "task:task:write"),
    ("/open-apis/approval/", "approval:approval:readonly"),
    ("/open-apis/im/", "im:message:send_as_bot"),
)


class _AuthLayer:
    """Tenant-token check, scope check and an optional QPS limit in front of the API routes."""

    def __init__(self, app: ASGIApp, sim: FeishuSimulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == TOKEN_PATH or path.startswith("/open-apis/bot/v2/hook/"):
            await self.app(scope, receive, send)
            return
        answer = self.sim.gate(Request(scope), path)
        if answer is not None:
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)


class FeishuSimulator(Simulator):
    """A Feishu tenant seeded from the sample company (or empty when ``company`` is None)."""

    name = "feishu"

    def __init__(self, company: Company | None = None, *, app_id: str = DEMO_APP_ID,
                 app_secret: str = DEMO_APP_SECRET, verification_token: str = DEMO_VERIFICATION_TOKEN,
                 encrypt_key: str = DEMO_ENCRYPT_KEY, token_ttl: int = 7200, now: datetime | None = None) -> None:
        self.state = FeishuState()
        self.company = company
        self.app_id, self.app_secret = app_id, app_secret
        self.verification_token, self.encrypt_key = verification_token, encrypt_key
        self.token_ttl = token_ttl
        self.created = now or datetime.now(UTC)
        if company is not None:
            seed_company(self.state, company, now=self.created)
        self.state.bot_hooks[DEMO_BOT_HOOK] = DEMO_BOT_SECRET
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._current: tuple[str, float] | None = None
        self.token_requests = 0
        self.revoked_scopes: set[str] = set()
        self.rate_limit_status = 429
        self.qps: float | None = None
        self._qps_window: deque[float] = deque()
        self._gate_lock = threading.Lock()
        self.im = ImRoutes(self.state, app_id)
        super().__init__()
        self._app = _AuthLayer(self._app, self)  # type: ignore[assignment]

    # -- routes and vendor-format answers ----------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return [Route(TOKEN_PATH, self._token, methods=["POST"]), *directory_routes(self.state),
                *calendar_routes(self.state), *work_routes(self.state), *self.im.routes()]

    def rate_limit_response(self, request_path: str, retry_after: float) -> Response:
        reset = str(max(1, int(retry_after))) if retry_after >= 1 else str(retry_after)
        return error(99991400, "request trigger frequency limit", status=self.rate_limit_status,
                     headers={"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": reset})

    def server_error_response(self, request_path: str, status: int) -> Response:
        return error(1500, "internal error, please try again later", status=status)

    def gate(self, request: Request, path: str) -> Response | None:
        """The answer for a request that fails auth, scope or QPS checks; ``None`` lets it through."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            return error(99991661, "Missing access token for authorization. Please make a request with token "
                                   "attached.", status=400)
        expiry = self.tokens.get(header[7:].strip())
        if expiry is None or time.monotonic() >= expiry:
            return error(99991663, "Invalid access token for authorization. Please make a request with token "
                                   "attached.", status=400)
        for prefix, needed in SCOPES:
            if path.startswith(prefix) and needed in self.revoked_scopes:
                return error(99991672, f"Access denied. One of the following scopes is required: [{needed}].",
                             status=400, permission_violations=[{"type": "action_scope_required", "subject": needed,
                                                                 "description": "the app lacks this scope"}])
        if self.qps is not None:
            with self._gate_lock:
                now = time.monotonic()
                while self._qps_window and now - self._qps_window[0] >= 1.0:
                    self._qps_window.popleft()
                if len(self._qps_window) >= self.qps:
                    return self.rate_limit_response(path, 1.0)
                self._qps_window.append(now)
        return None

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        try:
            body = await request.json()
        except ValueError:
            body = {}
        if body.get("app_id") != self.app_id:
            return JSONResponse({"code": 10003, "msg": "invalid param: app_id"}, status_code=400)
        if body.get("app_secret") != self.app_secret:
            return JSONResponse({"code": 10014, "msg": "app secret invalid"}, status_code=400)
        now = time.monotonic()
        threshold = min(1800.0, self.token_ttl / 4)
        with self._gate_lock:
            if self._current is not None and self._current[1] - now >= threshold and self._current[0] in self.tokens:
                token, expiry = self._current
            else:  # a new token; the previous one stays valid until its own expiry
                token, expiry = f"t-{secrets.token_hex(20)}", now + self.token_ttl
                self.tokens[token] = expiry
                self._current = (token, expiry)
        return JSONResponse({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": int(expiry - now)})

    # -- switches for tests -----------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Invalidate every tenant_access_token issued so far (the next API call answers 99991663)."""
        with self._gate_lock:
            self.tokens.clear()
            self._current = None

    def revoke_scope(self, scope: str) -> None:
        self.revoked_scopes.add(scope)

    def grant_scope(self, scope: str) -> None:
        self.revoked_scopes.discard(scope)

    # -- data helpers ---------------------------------------------------------------------------

    def connector_settings(self) -> dict[str, Any]:
        """Settings (as the YAML holds them) that point a Feishu connector at this simulator."""
        lookback = 30
        if self.company is not None:
            lookback = max(30, (datetime.now(UTC).date() - self.company.start).days + 30)
        return {
            "app_id": self.app_id, "app_secret": self.app_secret, "base_url": self.base_url,
            "verification_token": self.verification_token, "encrypt_key": self.encrypt_key,
            "calendar_lookback_days": lookback,
            "tasklist_departments": {t["guid"]: self.state.department_by_id[t["_department"]]["open_department_id"]
                                     for t in self.state.tasklists},
            "approvals": [{"code": ROOM_APPROVAL, "kind": "booking", "resource_field": "会议室",
                           "time_field": "使用时间"}, {"code": XDEPT_APPROVAL, "kind": "task"}],
            "bots": {"coordination": {"url": f"{self.base_url}/open-apis/bot/v2/hook/{DEMO_BOT_HOOK}",
                                      "secret": DEMO_BOT_SECRET}},
        }

    def chat_for(self, department_id: str) -> str:
        """The group chat of a department (sample company id, e.g. ``eng``)."""
        return str(self.state.department_by_id[department_id]["chat_id"])

    def tasklist_for(self, department_id: str) -> str:
        return next(t["guid"] for t in self.state.tasklists if t["_department"] == department_id)

    def messages_in(self, chat_id: str) -> list[dict[str, Any]]:
        return [m for m in self.state.messages.values() if m["chat_id"] == chat_id]

    def bot_messages(self, hook: str = DEMO_BOT_HOOK) -> list[dict[str, Any]]:
        return list(self.state.bot_messages.get(hook, []))

    def add_event(self, calendar_id: str, *, summary: str, start: datetime, end: datetime,
                  organizer_open_id: str | None = None, rooms: Sequence[str] = (), private: bool = False,
                  recurrence: str = "") -> str:
        """Create a plain event on ``calendar_id`` (and the rooms' calendars); returns its event_id."""
        event_id = f"{uuid.uuid4()}_0"
        attendees = [{"type": "resource", "attendee_id": f"resource_{r}", "rsvp_status": "accept",
                      "is_optional": False, "is_organizer": False, "is_external": False,
                      "display_name": self.state.room_by_id[r]["name"], "room_id": r} for r in rooms]
        organizer = self.state.users.get(organizer_open_id or "", {})
        event = {"event_id": event_id, "organizer_calendar_id": calendar_id, "summary": summary, "description": "",
                 "start_time": {"timestamp": str(int(start.timestamp())), "timezone": "Asia/Shanghai"},
                 "end_time": {"timestamp": str(int(end.timestamp())), "timezone": "Asia/Shanghai"},
                 "vchat": {"vc_type": "no_meeting"}, "visibility": "private" if private else "default",
                 "attendee_ability": "can_see_others", "free_busy_status": "busy", "location": None, "color": -1,
                 "reminders": [], "recurrence": recurrence, "status": "confirmed", "is_exception": False,
                 "recurring_event_id": "", "create_time": str(int(time.time())),
                 "event_organizer": {"user_id": organizer.get("open_id", ""),
                                     "display_name": organizer.get("name", "")},
                 "app_link": f"https://applink.feishu.cn/client/calendar/event/detail?key={event_id}",
                 "attendees": attendees, "has_more_attendee": False}
        calendars = {calendar_id} | {self.state.room_calendar[r] for r in rooms}
        last_end = int((end + timedelta(days=3650 if recurrence else 0)).timestamp())
        self.state.put_event(event, calendars, last_end)
        return event_id

    def update_event(self, event_id: str, **changes: Any) -> None:
        """Change fields of an event (e.g. ``summary=...``) and log the change on its calendars."""
        with self.state.lock:
            self.state.events[event_id].update(changes)
            self.state.log_change(event_id)

    def cancel_event(self, event_id: str) -> None:
        self.update_event(event_id, status="cancelled")

    def update_task(self, guid: str, **changes: Any) -> None:
        with self.state.lock:
            task = self.state.tasks[guid]
            task.update(changes)
            task["status"] = "done" if str(task.get("completed_at") or "0") != "0" else "todo"
            task["updated_at"] = str(int(time.time() * 1000))

    def delete_task(self, guid: str) -> None:
        with self.state.lock:
            self.state.tasks.pop(guid, None)

    def set_instance_status(self, instance_code: str, status: str) -> None:
        with self.state.lock:
            instance = self.state.instances[instance_code]
            instance["status"] = status
            if status != "PENDING":
                instance["end_time"] = str(int(time.time() * 1000))
            for task in instance.get("task_list") or []:
                task["status"] = status

    # -- event pushes ---------------------------------------------------------------------------

    def envelope(self, event_type: str, event: Mapping[str, Any], *, event_id: str | None = None,
                 token: str | None = None) -> dict[str, Any]:
        """A schema 2.0 event as Feishu pushes it."""
        return {"schema": "2.0", "header": {
            "event_id": event_id or uuid.uuid4().hex, "event_type": event_type,
            "create_time": str(int(time.time() * 1000)), "token": token or self.verification_token,
            "app_id": self.app_id, "tenant_key": "sim-tenant"}, "event": dict(event)}

    def build_push(self, payload: Mapping[str, Any], *, encrypt: bool = True, sign: bool = True,
                   timestamp: int | None = None, nonce: str | None = None) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one push: encrypted with the Encrypt Key and signed, by default."""
        text = json.dumps(payload, ensure_ascii=False)
        body = json.dumps({"encrypt": encrypt_push(text, self.encrypt_key)}).encode() if encrypt else text.encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            stamp = str(timestamp if timestamp is not None else int(time.time()))
            nonce = nonce or secrets.token_hex(8)
            headers.update({"X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": nonce,
                            "X-Lark-Signature": push_signature(stamp, nonce, self.encrypt_key, body)})
        return body, headers

    def push_event(self, url: str, event_type: str, event: Mapping[str, Any], *, event_id: str | None = None,
                   **options: Any) -> httpx.Response:
        """POST an encrypted, signed schema 2.0 event to the hub."""
        body, headers = self.build_push(self.envelope(event_type, event, event_id=event_id), **options)
        return self.deliver(url, body, headers)

    def url_verification(self, url: str, challenge: str = "sim-challenge") -> httpx.Response:
        payload = {"challenge": challenge, "token": self.verification_token, "type": "url_verification"}
        body, headers = self.build_push(payload, sign=False)
        return self.deliver(url, body, headers)
