"""The Feishu (Lark) connector: directory, calendars, rooms, tasks, approvals; cards, bots, tasks out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from collabhub.connector import CheckResult, Connector, WebhookSink
from collabhub.errors import ConnectorError, ErrorResolution
from collabhub.http.body import json_body
from collabhub.http.client import build_client
from collabhub.http.ratelimit import RateLimiter
from collabhub_feishu import errors
from collabhub_feishu.auth import tenant_token_auth
from collabhub_feishu.config import FeishuConfig
from collabhub_feishu.streams import STREAMS
from collabhub_feishu.writers import WRITERS

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["FeishuConnector"]

log = logging.getLogger(__name__)

# Cheap read-only calls that prove a capability works, by the streams/writers needing it.
_CHECKS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("directory", "GET", "/open-apis/contact/v3/departments/0/children",
     {"page_size": 1, "department_id_type": "open_department_id"}),
    ("calendars", "GET", "/open-apis/calendar/v4/calendars", {"page_size": 50}),
    ("rooms", "GET", "/open-apis/vc/v1/rooms", {"page_size": 1}),
    ("tasks", "GET", "/open-apis/task/v2/tasklists", {"page_size": 1}),
    ("bot", "GET", "/open-apis/bot/v3/info", {}),
)


class FeishuConnector(Connector):
    """Feishu / Lark through a custom app's ``tenant_access_token``."""

    type: ClassVar[str] = "feishu"
    title: ClassVar[str] = "Feishu (Lark)"
    Config: ClassVar[type[FeishuConfig]] = FeishuConfig
    stream_classes = STREAMS
    writer_classes = WRITERS

    config: FeishuConfig

    def __init__(self, name: str, config: FeishuConfig, context: Any = None) -> None:
        super().__init__(name, config, context)
        self._auth = tenant_token_auth(config.api_base(), config.app_id, config.app_secret)
        self._chat_limiters: dict[str, RateLimiter] = {}
        self._plain_client: httpx.AsyncClient | None = None
        # directory ids read in this process, reused by later streams (e.g. the calendar scope)
        self.department_cache: tuple[datetime, list[str]] | None = None
        self.user_cache: tuple[datetime, list[str]] | None = None

    # -- HTTP plumbing ---------------------------------------------------------------------

    def base_url(self) -> str:
        return self.config.api_base()

    def auth(self) -> httpx.Auth:
        return self._auth

    def default_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json; charset=utf-8"}

    def classify(self, response: httpx.Response) -> ErrorResolution:
        return errors.classify(response)

    @property
    def token_fetches(self) -> int:
        """How many times a tenant_access_token was fetched (not counted in ``api_calls``)."""
        return self._auth.fetches

    @property
    def plain_client(self) -> httpx.AsyncClient:
        """A client without the tenant token, for custom-bot webhooks (never leak the token there)."""
        if self._plain_client is None:
            self._plain_client = build_client(self.config.http, transport=self.context.transport,
                                              headers=self.default_headers())
        return self._plain_client

    def chat_limiter(self, chat_id: str) -> RateLimiter:
        """The per-chat send budget (Feishu: 5 messages per second per group), evenly spaced."""
        limiter = self._chat_limiters.get(chat_id)
        if limiter is None:
            limiter = RateLimiter(self.config.chat_rate_per_second, burst=1, max_concurrency=1)
            self._chat_limiters[chat_id] = limiter
        return limiter

    async def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                   json: Any = None, classify: Callable[[httpx.Response], ErrorResolution] | None = None,
                   ) -> dict[str, Any]:
        """One Feishu API call: the whole parsed body (``code``, ``msg``, ``data``) after classification.

        Errors raise ``ConnectorError`` subclasses; a ``SKIP`` verdict returns the body for the
        caller to inspect (e.g. a vanished object).
        """
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        if json is not None:
            kwargs["json"] = json
        response = await self.request(method, path, classify=classify, **kwargs)
        body = json_body(response, connector=self.name)
        return body if isinstance(body, dict) else {}

    async def data(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Like :meth:`call`, returning just ``data`` (empty when the call was skipped)."""
        body = await self.call(method, path, **kwargs)
        if errors.body_code(body) not in (0, None):
            return {}
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    def now(self) -> datetime:
        return self.context.clock()

    # -- checks, upkeep, webhooks ----------------------------------------------------------

    async def check(self) -> CheckResult:
        """Fetch a token, then prove each capability the configured streams and writers need."""
        details: list[str] = []
        ok = True
        wanted = {s.name for s in self.streams()}
        needs = {"directory": bool(wanted & {"departments", "users"}) or self.config.primary_calendars,
                 "calendars": "events" in wanted, "rooms": "rooms" in wanted,
                 "tasks": "tasks" in wanted, "bot": True}
        for capability, method, path, params in _CHECKS:
            if not needs.get(capability):
                continue
            try:
                await self.call(method, path, params=params)
                details.append(f"ok: {capability} ({method} {path})")
            except ConnectorError as exc:
                ok = False
                details.append(f"FAILED: {capability}: {exc.message}")
        for spec in self.config.approvals if "approvals" in wanted else []:
            try:
                await self.call("GET", f"/open-apis/approval/v4/approvals/{spec.code}")
                details.append(f"ok: approval definition {spec.code}")
            except ConnectorError as exc:
                ok = False
                details.append(f"FAILED: approval definition {spec.code}: {exc.message}")
        return CheckResult(ok, details)

    async def maintain(self, sink: WebhookSink) -> None:
        """Subscribe the configured approval definitions to instance events (once per process)."""
        done: set[str] = self.context.state.setdefault("feishu_approval_subscriptions", set())
        for spec in self.config.approvals:
            if spec.code in done:
                continue
            try:
                await self.call("POST", f"/open-apis/approval/v4/approvals/{spec.code}/subscribe")
                done.add(spec.code)
            except ConnectorError as exc:
                log.warning("could not subscribe approval %s to events: %s", spec.code, exc)

    def webhook_app(self, sink: WebhookSink) -> ASGIApp | None:
        from collabhub_feishu.webhooks import FeishuWebhookApp

        if self.config.encrypt_key is None and self.config.verification_token is None:
            return None
        return FeishuWebhookApp(self, sink)

    async def aclose(self) -> None:
        await super().aclose()
        if self._plain_client is not None:
            await self._plain_client.aclose()
            self._plain_client = None

