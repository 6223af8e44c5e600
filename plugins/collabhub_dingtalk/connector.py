"""The DingTalk connector: directory, calendars, rooms, todos and approvals in; robots, todos, events out.

Two hosts serve one organisation: the new API (``api.dingtalk.com``, header token) and the legacy
``oapi.dingtalk.com`` (query token; directory and robots). Both base URLs, the proxy and the CA
bundle are settings. Every call goes through ``Connector.request`` (shared retries, rate limiter,
API-call counter) with :func:`collabhub_dingtalk.errors.classify` reading errors out of bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from collabhub.connector import CheckResult, Connector, ConnectorContext, WebhookSink
from collabhub.errors import Action, CollabhubError, ErrorResolution
from collabhub.http.body import json_body
from collabhub.http.retry import send
from collabhub_dingtalk.auth import DingTalkAuth
from collabhub_dingtalk.errors import classify as classify_dingtalk
from collabhub_dingtalk.errors import error_body, not_found_is_skip
from collabhub_dingtalk.settings import DingTalkConfig
from collabhub_dingtalk.streams import STREAMS
from collabhub_dingtalk.timeutil import zone
from collabhub_dingtalk.writers import WRITERS

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["DingTalkConnector"]

log = logging.getLogger(__name__)

_SCOPE_TTL = timedelta(minutes=10)
_QPS_CODES = ("90018", "90002")


class DingTalkConnector(Connector):
    """One DingTalk organisation, through one internal app."""

    type: ClassVar[str] = "dingtalk"
    title: ClassVar[str] = "DingTalk (钉钉)"
    Config = DingTalkConfig
    stream_classes = STREAMS
    writer_classes = WRITERS

    config: DingTalkConfig

    def __init__(self, name: str, config: DingTalkConfig, context: ConnectorContext | None = None) -> None:
        super().__init__(name, config, context)
        self.users_by_id: dict[str, dict[str, Any]] = {}  # userid -> directory record
        self.room_ids: list[str] | None = None
        self._scope: tuple[datetime, list[str]] | None = None
        self._auth: DingTalkAuth | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self.robot_windows: dict[str, Any] = {}  # send key -> RobotWindow, when the context has no send_slots

    def __repr__(self) -> str:
        return f"DingTalkConnector(name={self.name!r}, app_key={self.config.app_key!r})"

    # -- HTTP -------------------------------------------------------------------------------

    def base_url(self) -> str:
        return self.config.api_base_url

    def auth(self) -> httpx.Auth:
        if self._auth is None:
            self._auth = DingTalkAuth(self.config.api_base_url, self.config.oapi_base_url, self.config.app_key,
                                      self.config.app_secret)
        return self._auth

    def classify(self, response: httpx.Response) -> ErrorResolution:
        resolution = classify_dingtalk(response)
        if resolution.action is Action.RATE_LIMITED and resolution.code in _QPS_CODES:
            return ErrorResolution(resolution.action, resolution.who, resolution.message, self.config.qps_wait,
                                   resolution.code)
        return resolution

    def api(self, path: str) -> str:
        return f"{self.config.api_base_url}{path}"

    def oapi(self, path: str) -> str:
        return f"{self.config.oapi_base_url}{path}"

    async def call(self, method: str, url: str, *, lookup: bool = False,
                   classify: Callable[[httpx.Response], ErrorResolution] | None = None,
                   **kwargs: Any) -> dict[str, Any] | None:
        """One API call; the JSON body, or None for a "not found" when ``lookup`` is set."""
        if lookup:
            classify = not_found_is_skip(self.classify)
        response = await self.request(method, url, classify=classify or self.classify, **kwargs)
        body = self._answer(response)
        if lookup and (response.status_code >= 400 or body.get("errcode") not in (None, 0)):
            return None
        return body

    async def call_once(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """One attempt, no automatic retry: for creates that have no idempotency key of their own.

        A timeout then fails the delivery; the outbox retries it later, after a look-up that finds
        an object the lost attempt did make.
        """
        client = self.client
        response = await send(client, lambda: client.build_request(method, url, **kwargs), classify=self.classify,
                              limiter=self.limiter, max_retries=0, max_wait=self.config.http.max_wait,
                              connector=self.name, counter=self._count)
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object of an answer (``{}`` when empty); ``RemoteError`` when a 2xx body is broken.

        Error answers handed back by a ``SKIP`` verdict are read leniently, as the classifier reads them.
        """
        if response.status_code >= 400 or not response.content:
            return dict(error_body(response) or {})
        body = json_body(response, connector=self.name)
        return dict(body) if isinstance(body, Mapping) else {}

    # -- time and scope ---------------------------------------------------------------------

    def now(self) -> datetime:
        return self.context.clock()

    def window_start(self) -> datetime:
        """Start of the pulled time window (calendars, room schedules, approvals)."""
        if self.config.window_start is not None:
            return datetime.combine(self.config.window_start, time(0), zone(None)).astimezone(UTC)
        return self.now() - timedelta(days=self.config.lookback_days)

    async def scope_users(self) -> list[str]:
        """unionIds whose calendars and todos are pulled (sorted, so restarts walk the same order)."""
        if self.config.users is not None:
            return sorted(set(self.config.users))
        if self._scope is not None and self.now() - self._scope[0] < _SCOPE_TTL:
            return self._scope[1]
        from collabhub_dingtalk.streams.directory import walk_users

        union_ids: set[str] = set()
        async for _, users in walk_users(self):
            union_ids.update(u["unionid"] for u in users if u.get("unionid"))
        self.remember_scope(union_ids)
        return self._scope[1] if self._scope else []

    def remember_scope(self, union_ids: set[str]) -> None:
        self._scope = (self.now(), sorted(union_ids))

    def remember_users(self, users: list[Mapping[str, Any]]) -> None:
        for user in users:
            if user.get("userid"):
                self.users_by_id[str(user["userid"])] = dict(user)

    async def lookup_user(self, userid: str) -> dict[str, Any] | None:
        """A directory record by userid (cached; contacts calls do not count against the quota)."""
        if userid not in self.users_by_id:
            body = await self.call("POST", self.oapi("/topapi/v2/user/get"), lookup=True,
                                   json={"userid": userid, "language": "zh_CN"})
            if body and isinstance(body.get("result"), Mapping):
                self.users_by_id[userid] = dict(body["result"])
        return self.users_by_id.get(userid)

    # -- check, upkeep, events --------------------------------------------------------------

    async def check(self) -> CheckResult:
        details: list[str] = []
        try:
            await self.call("POST", self.oapi("/topapi/v2/department/listsub"),
                            json={"dept_id": self.config.root_department})
            details.append("oapi token and contacts read permission: ok")
            body = await self.call("GET", self.api("/v1.0/rooms/meetingRoomLists"),
                                   params={"unionId": self.config.operator_union_id, "maxResults": 1})
            details.append(f"new-API token and room read permission: ok ({len((body or {}).get('result') or [])}"
                           " room(s) on the first page)")
        except CollabhubError as exc:
            details.append(str(exc))
            return CheckResult.failed(*details)
        return CheckResult.passed(*details)

    def webhook_app(self, sink: WebhookSink) -> ASGIApp | None:
        if self.config.events != "http" or self.config.callback is None:
            return None
        from collabhub_dingtalk.webhooks import CallbackApp

        return CallbackApp(self, sink)

    async def maintain(self, sink: WebhookSink) -> None:
        """In Stream mode, keep one ``dingtalk-stream`` client running in the background."""
        if self.config.events != "stream":
            return
        if self._stream_task is None or self._stream_task.done():
            from collabhub_dingtalk.stream_mode import run_stream_client

            self._stream_task = asyncio.get_running_loop().create_task(run_stream_client(self, sink))

    async def aclose(self) -> None:
        if self._stream_task is not None:
            from collabhub_dingtalk.stream_mode import wait_cancelled

            await wait_cancelled(self._stream_task)
            self._stream_task = None
        await super().aclose()
