"""Calendar v4 events of the calendars in scope: a full load, then ``sync_token`` increments.

Scope: the calendars visible to the app (``GET /calendar/v4/calendars``) of the configured types
(shared and resource by default), every directory user's primary calendar
(``POST /calendar/v4/calendars/primarys``) and ``calendar_ids``. It is re-discovered every
``reference_refresh_minutes``.

Per calendar: the first load lists events from ``anchor_time`` (now minus the lookback) page by
page; its last page hands a ``sync_token``; later runs pass only that ``sync_token`` (never with
``start_time``/``end_time``, which loses data) and get the changes, cancelled events included.
An event seen in several calendars is emitted once: from its organizer's calendar when that is
in scope, otherwise from each calendar that shows it (same id, same content).

Cursor::

    {"calendars": [...], "discovered_at": iso,
     "scopes": {calendar_id: {"sync_token": t} | {"anchor": sec, "page_token": p} | {"page_token": p}}}

The per-calendar state sits under ``scopes`` so that a calendar change event can drop just that
calendar (``sink.request_resync(..., scope=calendar_id)``); it is then reloaded in full.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import timedelta
from typing import Any

from collabhub.connector import Page
from collabhub.errors import ConnectorError
from collabhub.model import Entity, EntityKind
from collabhub_feishu.errors import SYNC_TOKEN_INVALID_CODES, body_code, skip_codes
from collabhub_feishu.mapping import event_entities
from collabhub_feishu.streams.base import FeishuStream, chunks, pages
from collabhub_feishu.streams.directory import user_ids

__all__ = ["EventsStream"]

log = logging.getLogger(__name__)

_CALENDAR_GONE = (190004, 190006)


def _events_path(calendar_id: str) -> str:
    return f"/open-apis/calendar/v4/calendars/{calendar_id}/events"


class EventsStream(FeishuStream):
    """Events of the calendars in scope -> Meeting (+ Booking per room and occurrence)."""

    name = "events"
    kind = EntityKind.MEETING
    primary_key = "event_id"

    # -- scope -------------------------------------------------------------------------------

    async def discover(self) -> list[str]:
        """The calendar ids in scope, in a stable order."""
        found: dict[str, None] = dict.fromkeys(self.cfg.calendar_ids)
        types = set(self.cfg.calendar_types)
        if types:
            async for items, _ in pages(self.connector, "GET", "/open-apis/calendar/v4/calendars",
                                        {"page_size": 500}, items_key="calendar_list"):
                for cal in items:
                    if cal.get("type") in types and not cal.get("is_deleted") and cal.get("calendar_id"):
                        found[str(cal["calendar_id"])] = None
        if self.cfg.primary_calendars:
            users = await user_ids(self)
            for batch in chunks(users, self.cfg.primary_batch_size):
                data = await self.connector.data("POST", "/open-apis/calendar/v4/calendars/primarys",
                                                 params={"user_id_type": "open_id"}, json={"user_ids": list(batch)})
                for item in data.get("calendars") or []:
                    cal_id = (item.get("calendar") or {}).get("calendar_id")
                    if cal_id:
                        found[str(cal_id)] = None
        return sorted(found)

    # -- reading -----------------------------------------------------------------------------

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        state: dict[str, Any] = copy.deepcopy(dict(cursor)) if cursor else {}
        if not state.get("calendars") or not self.fresh(state.get("discovered_at")):
            calendars = await self.discover()
            keep = set(calendars)
            state = {"calendars": calendars, "discovered_at": self.now().isoformat(),
                     "scopes": {c: s for c, s in (state.get("scopes") or {}).items() if c in keep}}
            yield Page(cursor=copy.deepcopy(state))
        state.setdefault("scopes", {})
        scope = frozenset(state["calendars"])
        for calendar_id in state["calendars"]:
            async for page in self._read_calendar(calendar_id, state, scope):
                yield page

    async def _read_calendar(self, calendar_id: str, state: dict[str, Any], scope: frozenset[str],
                             ) -> AsyncIterator[Page]:
        position: dict[str, Any] = dict(state["scopes"].get(calendar_id) or {})
        while True:
            params: dict[str, Any] = {"page_size": self.cfg.event_page_size, "user_id_type": "open_id"}
            if position.get("page_token"):
                params["page_token"] = position["page_token"]
                if position.get("anchor"):
                    params["anchor_time"] = position["anchor"]
            elif position.get("sync_token"):
                params["sync_token"] = position["sync_token"]
            else:
                anchor = int((self.now() - timedelta(days=self.cfg.calendar_lookback_days)).timestamp())
                position = {"anchor": anchor}
                params["anchor_time"] = anchor
            body = await self.connector.call("GET", _events_path(calendar_id), params=params,
                                             classify=skip_codes(*SYNC_TOKEN_INVALID_CODES, *_CALENDAR_GONE))
            code = body_code(body)
            if code in SYNC_TOKEN_INVALID_CODES and "sync_token" in params:
                log.warning("calendar %s: sync_token rejected (%s); reloading it in full", calendar_id, code)
                position = {}
                continue
            if code in _CALENDAR_GONE:
                log.warning("calendar %s is gone or no longer shared with the app (%s); skipping it",
                            calendar_id, code)
                return
            if code != 0:
                raise ConnectorError(f"calendar {calendar_id}: {body.get('msg')}", connector=self.connector.name)
            data = body.get("data") or {}
            records = [e for e in data.get("items") or [] if self._owned(e, calendar_id, scope)]
            for event in records:
                event["_calendar_id"] = calendar_id
            await self._complete_attendees(calendar_id, records)
            records.sort(key=lambda e: bool(e.get("is_exception")))  # a series before its exceptions
            more = bool(data.get("has_more") and data.get("page_token"))
            previous = state["scopes"].get(calendar_id)
            if more:
                position = {k: v for k, v in position.items() if k == "anchor"} | {"page_token": data["page_token"]}
            else:
                position = {"sync_token": data["sync_token"]} if data.get("sync_token") else {}
            state["scopes"][calendar_id] = position
            if records or position != previous:
                yield Page(records=records, cursor=copy.deepcopy(state))
            if not more:
                return

    @staticmethod
    def _owned(event: Mapping[str, Any], calendar_id: str, scope: frozenset[str]) -> bool:
        organizer_calendar = event.get("organizer_calendar_id")
        return not organizer_calendar or organizer_calendar == calendar_id or organizer_calendar not in scope

    async def _complete_attendees(self, calendar_id: str, events: list[dict[str, Any]]) -> None:
        """Fetch the full attendee list where the event list truncated it."""
        for event in events:
            if event.get("status") == "cancelled" or ("attendees" in event and not event.get("has_more_attendee")):
                continue
            path = f"{_events_path(calendar_id)}/{event['event_id']}/attendees"
            attendees: list[dict[str, Any]] = []
            async for items, _ in pages(self.connector, "GET", path, {"user_id_type": "open_id", "page_size": 100}):
                attendees.extend(items)
            event["attendees"] = attendees
            event["has_more_attendee"] = False

    def normalize(self, record: Any) -> Iterable[Entity]:
        return event_entities(self.connector.name, record, now=self.now(),
                              horizon=timedelta(days=self.cfg.recurrence_horizon_days))
