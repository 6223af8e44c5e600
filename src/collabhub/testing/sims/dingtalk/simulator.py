"""The DingTalk simulator: one loopback server playing both ``api.dingtalk.com`` and ``oapi.dingtalk.com``.

Besides the base fault switches it knows DingTalk's own failure modes::

    sim.faults.rate_limit(3)        # next 3 calls: QPS limit (90018 / QpsLimitForAppkeyAndApi)
    sim.quota(10)                   # 10 more calls, then the monthly quota answer (90020)
    sim.ip_ban(2, wait=0)           # next 2 calls: {"status": 1111, "wait": 0}
    sim.expire_tokens()             # every issued token becomes invalid
    sim.expire_sync_tokens()        # every calendar syncToken issued so far becomes invalid
    query, body = sim.callback({"EventType": "check_url"})   # an encrypted HTTP callback

Contacts, token and robot calls do not count against the quota (as on the real platform).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from collabhub.testing.company import Company
from collabhub.testing.sims.dingtalk.calendar import calendar_routes, occurrences
from collabhub.testing.sims.dingtalk.directory import directory_routes
from collabhub.testing.sims.dingtalk.robot import (
    RobotState,
    callback_body,
    encrypt_callback,
    robot_routes,
    sign_callback,
)
from collabhub.testing.sims.dingtalk.state import APPROVAL_GENERAL, APPROVAL_ROOM, DingTalkState, iso_utc
from collabhub.testing.sims.dingtalk.todo import todo_routes, workflow_routes
from collabhub.testing.simulator import Simulator

__all__ = ["APPROVAL_GENERAL", "APPROVAL_ROOM", "DingTalkSimulator"]

_EXEMPT = ("/gettoken", "/v1.0/oauth2/", "/topapi/v2/user/", "/topapi/v2/department/", "/robot/send")
_NO_TOKEN = ("/gettoken", "/v1.0/oauth2/", "/robot/send")


class _Gate:
    """Checks tokens, the quota and IP bans before the routes see a request."""

    def __init__(self, sim: DingTalkSimulator, app: ASGIApp) -> None:
        self.sim = sim
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            answer = self.sim.gate(scope)
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


class DingTalkSimulator(Simulator):
    """DingTalk for one organisation, seeded from the sample company."""

    name = "dingtalk"

    def __init__(self, company: Company, *, app_key: str = "dingsimappkey", app_secret: str = "sim-app-secret",
                 corp_id: str = "dingsimcorp0001", callback_token: str = "collabhub1",
                 aes_key: str = "c0llabhubS1mulat0rAesKey0123456789abcdefXYZ",
                 robots: dict[str, str | None] | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.company = company
        self.state = DingTalkState.from_company(company)
        self.app_key, self.app_secret, self.corp_id = app_key, app_secret, corp_id
        self.callback_token, self.aes_key = callback_token, aes_key
        self.robots = {token: RobotState(secret) for token, secret in
                       (robots or {"sim-robot-token": "SECsimrobotsecret"}).items()}
        self.clock = clock or (lambda: datetime.now(UTC))
        self.tokens: dict[str, set[str]] = {"new": set(), "legacy": set()}
        self.quota_left: int | None = None
        self.quota_used = 0
        self.bans = 0
        self.ban_wait = 5
        self.sync_tokens_valid_from = 0
        self.todo_creates = 0
        self.lock = threading.Lock()
        super().__init__()
        self._app = _Gate(self, self._app)

    def routes(self) -> Sequence[BaseRoute]:
        return [*directory_routes(self), *calendar_routes(self), *todo_routes(self), *workflow_routes(self),
                *robot_routes(self)]

    def now(self) -> datetime:
        return self.clock()

    # -- vendor-format faults ---------------------------------------------------------------

    def rate_limit_response(self, request_path: str, retry_after: float) -> Response:
        if request_path.startswith("/v1.0/"):
            return JSONResponse({"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                                 "message": "调用该接口触发应用QPS限流", "requestid": "sim"}, status_code=403)
        return JSONResponse({"errcode": 90018, "errmsg": "当前应用调用该接口的并发量超过限制"})

    def server_error_response(self, request_path: str, status: int) -> Response:
        return JSONResponse({"code": "ServiceUnavailable", "message": "service unavailable", "requestid": "sim"},
                            status_code=status)

    def quota(self, remaining: int | None) -> None:
        """Allow ``remaining`` more quota-counted calls (None: unlimited)."""
        with self.lock:
            self.quota_left = remaining

    def ip_ban(self, n: int, *, wait: int = 5) -> None:
        with self.lock:
            self.bans, self.ban_wait = n, wait

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {"new": set(), "legacy": set()}

    def expire_sync_tokens(self) -> None:
        self.sync_tokens_valid_from = self.state.seq + 1

    def issue_token(self, kind: str) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[kind].add(token)
        return token

    def gate(self, scope: Scope) -> Response | None:
        path = scope["path"]
        legacy = not path.startswith("/v1.0/")
        with self.lock:
            if self.bans > 0:
                self.bans -= 1
                return JSONResponse({"status": 1111, "wait": self.ban_wait, "message": "IP被限流"}, status_code=403)
            if not path.startswith(_NO_TOKEN):
                if legacy:
                    raw = scope.get("query_string", b"").decode()
                    query = dict(p.split("=", 1) for p in raw.split("&") if "=" in p)
                    if query.get("access_token") not in self.tokens["legacy"]:
                        return JSONResponse({"errcode": 40014, "errmsg": "不合法的access_token"})
                else:
                    headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
                    if headers.get("x-acs-dingtalk-access-token") not in self.tokens["new"]:
                        return JSONResponse({"code": "InvalidAuthentication", "message": "不合法的access_token",
                                             "requestid": "sim"}, status_code=401)
            if not path.startswith(_EXEMPT):
                if self.quota_left is not None and self.quota_left <= 0:
                    if legacy:
                        return JSONResponse({"errcode": 90020, "errmsg": "企业调用接口次数超过免费额度"})
                    return JSONResponse({"code": "Forbidden.AccessDenied.ApiCountLimitForOrg",
                                         "message": "企业调用接口次数超过免费额度", "requestid": "sim"},
                                        status_code=403)
                self.quota_used += 1
                if self.quota_left is not None:
                    self.quota_left -= 1
        return None

    # -- changes tests make -----------------------------------------------------------------

    def cancel_event(self, event_id: str) -> None:
        event = self.state.events[event_id]
        event["status"] = "cancelled"
        event["updateTime"] = iso_utc(self.now())
        self.state.touch_event(event_id)

    def rename_event(self, event_id: str, summary: str) -> None:
        event = self.state.events[event_id]
        event["summary"] = summary
        event["updateTime"] = iso_utc(self.now())
        self.state.touch_event(event_id)

    def room_busy(self, room_id: str, event: dict[str, Any]) -> bool:
        mine = occurrences(event)
        for other_id in self.state.room_events.get(room_id, ()):
            other = self.state.events[other_id]
            if other_id == event["id"] or other["status"] == "cancelled":
                continue
            if any(s < oe and e > os for s, e in mine for os, oe in occurrences(other)):
                return True
        return False

    def robot(self, access_token: str = "sim-robot-token") -> RobotState:
        return self.robots[access_token]

    # -- callbacks --------------------------------------------------------------------------

    def callback(self, payload: dict[str, Any], *, timestamp: str | None = None, nonce: str = "sImNoNcE",
                 owner_key: str | None = None) -> tuple[dict[str, str], bytes]:
        """An encrypted HTTP callback as DingTalk sends it: (query parameters, body)."""
        timestamp = timestamp or str(int(self.now().timestamp() * 1000))
        encrypt = encrypt_callback(self.aes_key, owner_key or self.app_key, json.dumps(payload, ensure_ascii=False),
                                   secrets.token_hex(8).encode())
        query = {"msg_signature": sign_callback(self.callback_token, timestamp, nonce, encrypt),
                 "timestamp": timestamp, "nonce": nonce}
        return query, callback_body(encrypt)

    def push(self, url: str, payload: dict[str, Any]) -> Any:
        """POST an encrypted callback to the hub."""
        query, body = self.callback(payload)
        return self.deliver(url + "?" + "&".join(f"{k}={v}" for k, v in query.items()), body)
