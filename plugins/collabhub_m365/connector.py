"""The Microsoft 365 connector: calendars, rooms and bookings through Microsoft Graph.

Streams: ``rooms`` (places -> Resources), ``events`` (calendarView delta per mailbox ->
Meetings), ``room_bookings`` (calendarView delta per room mailbox -> Bookings). Writers:
``event`` (create/update an event, rooms included) and ``booking`` (book a room for a span).
Every Graph call goes through :meth:`M365Connector.request`: the shared retry policy, at most
``mailbox_concurrency`` (4) requests in flight per mailbox, and the optional request budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import httpx

from collabhub.connector import CheckResult, Connector, ConnectorConfig, ConnectorContext, WebhookSink
from collabhub.errors import Action, CollabhubError, ErrorResolution, QuotaExhaustedError, Who
from collabhub.http import json_body

from .auth import GraphAuth, GraphTokenProvider
from .errors import classify
from .paths import user_path
from .settings import M365Settings
from .streams import EventsStream, RoomBookingsStream, RoomsStream
from .subscriptions import SubscriptionManager
from .writers import BookingWriter, EventWriter

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["M365Connector", "MailboxRef"]


@dataclass(frozen=True)
class MailboxRef:
    """A mailbox in scope: ``key`` (lower-case address) names it in URLs and cursors."""

    key: str
    id: str | None = None
    name: str | None = None


class MailboxGate:
    """At most ``limit`` requests in flight per mailbox (Exchange Online allows 4 per app)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots: dict[str, asyncio.Semaphore] = {}

    def slot(self, mailbox: str) -> asyncio.Semaphore:
        key = mailbox.lower()
        if key not in self._slots:
            self._slots[key] = asyncio.Semaphore(self.limit)
        return self._slots[key]


class M365Connector(Connector):
    """Microsoft 365 calendars, rooms and room bookings (Graph v1.0, app-only auth)."""

    type = "m365"
    title = "Microsoft 365 (Graph calendars, rooms, bookings)"
    Config: ClassVar[type[ConnectorConfig]] = M365Settings
    stream_classes = (RoomsStream, EventsStream, RoomBookingsStream)
    writer_classes = (EventWriter, BookingWriter)

    config: M365Settings

    def __init__(self, name: str, config: ConnectorConfig, context: ConnectorContext | None = None) -> None:
        super().__init__(name, config, context)
        self.tokens = GraphTokenProvider(self.config)
        self.gate = MailboxGate(self.config.mailbox_concurrency)
        self.requests_used = 0
        self.subscriptions = SubscriptionManager(self)
        self._scope: list[MailboxRef] | None = None
        self._rooms: list[tuple[dict[str, Any], list[str]]] | None = None
        self._scope_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"M365Connector(name={self.name!r}, tenant={self.config.tenant_id!r})"

    # -- HTTP plumbing ---------------------------------------------------------------------

    def base_url(self) -> str:
        return self.config.graph_base

    def auth(self) -> httpx.Auth:
        return GraphAuth(self.tokens)

    def classify(self, response: httpx.Response) -> ErrorResolution:
        return classify(response)

    def _spend(self, cost: int) -> None:
        budget = self.config.request_budget
        if budget is not None and self.requests_used + cost > budget:
            resolution = ErrorResolution(Action.FAIL, Who.CONFIG, "request budget spent", code="quota")
            raise QuotaExhaustedError(
                f"the request budget of {budget} Graph requests for this run is spent "
                f"({self.requests_used} used)", resolution=resolution, connector=self.name,
                hint="the run resumes from its cursors next time; raise request_budget to do more per run")
        self.requests_used += cost

    async def request(self, method: str, url: str, *, mailbox: str | None = None,
                      mailboxes: Sequence[str] = (), cost: int = 1, **kwargs: Any) -> httpx.Response:
        """A Graph call: budget, per-mailbox concurrency slots, then the shared retry policy."""
        self._spend(cost)
        names = sorted({m.lower() for m in ([mailbox] if mailbox else []) + list(mailboxes)})
        async with AsyncExitStack() as stack:
            for name in names:  # always in sorted order: two batches never deadlock
                await stack.enter_async_context(self.gate.slot(name))
            return await super().request(method, url, **kwargs)

    def window(self) -> tuple[datetime, datetime]:
        """The rolling calendarView window, aligned to UTC days."""
        today = self.context.clock().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return (today - timedelta(days=self.config.window_past_days),
                today + timedelta(days=self.config.window_future_days))

    # -- scope: mailboxes and rooms --------------------------------------------------------

    async def mailbox_scope(self) -> list[MailboxRef]:
        """The mailboxes in scope: the configured list, or the user members of ``group``."""
        if self._scope is not None:
            return self._scope
        if self._scope_lock is None:
            self._scope_lock = asyncio.Lock()
        async with self._scope_lock:
            if self._scope is None:
                found = {m: MailboxRef(m) for m in self.config.mailboxes}
                if self.config.group:
                    for user in await self.collect(f"/groups/{quote(self.config.group)}/members/microsoft.graph.user",
                                                   params={"$select": "id,mail,userPrincipalName,displayName",
                                                           "$top": "999"}):
                        address = str(user.get("mail") or "").lower()
                        if address:
                            found[address] = MailboxRef(address, user.get("id"), user.get("displayName"))
                self._scope = [found[k] for k in sorted(found)]
        return self._scope

    async def room_places(self) -> list[tuple[dict[str, Any], list[str]]]:
        """Rooms (``microsoft.graph.room`` places) and the room lists each belongs to."""
        if self._rooms is not None:
            return self._rooms
        rooms: dict[str, tuple[dict[str, Any], list[str]]] = {}
        if self.config.room_lists:
            for room_list in self.config.room_lists:
                url = f"/places/{quote(room_list, safe='@')}/microsoft.graph.roomlist/rooms"
                for room in await self.collect(url, params={"$top": "100"}):
                    email = str(room.get("emailAddress") or "").lower()
                    rooms.setdefault(email, (room, []))[1].append(room_list.lower())
        else:
            for room in await self.collect("/places/microsoft.graph.room", params={"$top": "100"}):
                rooms[str(room.get("emailAddress") or "").lower()] = (room, [])
        self._rooms = [rooms[k] for k in sorted(rooms)]
        return self._rooms

    async def collect(self, url: str, *, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a paged Graph collection (``@odata.nextLink`` followed)."""
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        first = True
        while next_url:
            response = await self.request("GET", next_url, params=params if first else None)
            body = json_body(response, connector=self.name)
            items.extend(body.get("value") or [])
            next_url, first = body.get("@odata.nextLink"), False
        return items

    # -- availability ----------------------------------------------------------------------

    async def availability(self, schedules: Sequence[str], start: datetime, end: datetime,
                           interval_minutes: int = 30) -> dict[str, Any]:
        """Free/busy of people or rooms (``getSchedule``); see :mod:`collabhub_m365.schedule`."""
        from .schedule import get_schedule

        return await get_schedule(self, schedules, start, end, interval_minutes)

    # -- lifecycle -------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        lines: list[str] = []
        try:
            await self.tokens.token()
            lines.append(f"token: app-only token acquired from {self.config.authority}")
            scope = await self.mailbox_scope() if (self.config.mailboxes or self.config.group) else []
            lines.append(f"mailboxes: {len(scope)} in scope" + (f" (group {self.config.group})"
                                                                 if self.config.group else ""))
            if scope:
                start = self.window()[0]
                probe = await self.request(
                    "GET", f"{user_path(scope[0].key)}/calendarView",
                    params={"startDateTime": _iso(start), "endDateTime": _iso(start + timedelta(days=1)),
                            "$top": "1"}, mailbox=scope[0].key, classify=_lenient)
                if probe.status_code == 200:
                    lines.append(f"calendars: read access to {scope[0].key} works")
                else:
                    lines.append(f"calendars: reading {scope[0].key} failed: {classify(probe).message}")
                    return CheckResult.failed(*lines)
            rooms = await self.room_places()
            lines.append(f"rooms: {len(rooms)} visible (Place.Read.All)")
        except CollabhubError as exc:
            lines.append(f"failed: {exc}")
            return CheckResult.failed(*lines)
        return CheckResult.passed(*lines)

    async def maintain(self, sink: WebhookSink) -> None:
        """Before each run: a fresh request budget and scope, and subscription upkeep."""
        self.requests_used = 0
        self._scope = None
        self._rooms = None
        if self.config.notifications is not None:
            await self.subscriptions.maintain(sink)

    def webhook_app(self, sink: WebhookSink) -> ASGIApp | None:
        if self.config.notifications is None:
            return None
        from .webhooks import build_webhook_app

        return build_webhook_app(self, sink)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lenient(response: httpx.Response) -> ErrorResolution:
    """Retry transient failures, but hand every other answer back to the caller to explain."""
    resolution = classify(response)
    if resolution.action in (Action.RATE_LIMITED, Action.RETRY, Action.REFRESH_TOKEN, Action.SUCCESS):
        return resolution
    return ErrorResolution(Action.SKIP, resolution.who, resolution.message, code=resolution.code)
