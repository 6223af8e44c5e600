"""Meeting rooms (-> Resources) and their schedules (-> Bookings).

* ``rooms``: ``GET /v1.0/rooms/meetingRoomLists?unionId&maxResults&nextToken`` (``hasMore``,
  ``nextToken``, ``result[]``); the last page sweeps rooms that are gone.
* ``room_schedules``: ``POST /v1.0/calendar/users/{unionId}/meetingRooms/schedules/query`` with at
  most 5 rooms and a window of at most 90 days per call. Each room's busy items become Bookings
  with the same ids the calendar stream gives room bookings. A full window is read each run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from collabhub.connector import Page
from collabhub.model import Entity, EntityKind
from collabhub_dingtalk import mapping
from collabhub_dingtalk.streams.base import DingTalkStream
from collabhub_dingtalk.timeutil import iso

__all__ = ["RoomSchedules", "Rooms", "list_rooms"]

ROOMS_PER_QUERY = 5


async def _rooms_page(connector: Any, token: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"unionId": connector.config.operator_union_id,
                              "maxResults": connector.config.room_page_size}
    if token not in (None, ""):
        params["nextToken"] = token
    return await connector.call("GET", connector.api("/v1.0/rooms/meetingRoomLists"), params=params) or {}


async def list_rooms(connector: Any) -> list[str]:
    """All room ids (cached on the connector for the run)."""
    if connector.room_ids is None:
        ids: list[str] = []
        token = None
        while True:
            body = await _rooms_page(connector, token)
            ids.extend(str(r["roomId"]) for r in body.get("result") or [] if r.get("roomId"))
            token = body.get("nextToken")
            if not body.get("hasMore") or token in (None, ""):
                break
        connector.room_ids = sorted(set(ids))
    return connector.room_ids


class Rooms(DingTalkStream):
    """Meeting rooms visible to the operator account."""

    name = "rooms"
    kind = EntityKind.RESOURCE
    primary_key = "roomId"

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        state = dict(cursor or {})
        token = state.get("next")
        seen: list[str] = list(state.get("seen") or [])
        while True:
            body = await _rooms_page(self.connector, token)
            rooms = [r for r in body.get("result") or [] if isinstance(r, Mapping) and r.get("roomId")]
            seen.extend(str(r["roomId"]) for r in rooms)
            token = body.get("nextToken")
            if body.get("hasMore") and token not in (None, ""):
                yield Page(rooms, cursor={"next": token, "seen": list(seen)})
                continue
            self.connector.room_ids = sorted(set(seen))
            yield Page(rooms, cursor={}, sweep=frozenset(seen))
            return

    def normalize(self, record: Any) -> list[Entity]:
        return [mapping.room(self.connector.name, record)]


class RoomSchedules(DingTalkStream):
    """Busy items of every room in the time window."""

    name = "room_schedules"
    kind = EntityKind.BOOKING
    primary_key = "roomId"

    def _window(self, state: Mapping[str, Any]) -> tuple[datetime, datetime]:
        if state.get("from") and state.get("to"):
            return datetime.fromisoformat(state["from"]), datetime.fromisoformat(state["to"])
        start = self.connector.window_start()
        return start, start + timedelta(days=self.connector.config.schedule_days)

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        state = dict(cursor or {})
        start, end = self._window(state)
        remaining: list[str] = list(state["rooms"]) if "rooms" in state else await list_rooms(self.connector)
        url = self.connector.api(
            f"/v1.0/calendar/users/{self.connector.config.operator_union_id}/meetingRooms/schedules/query")
        if not remaining:
            yield Page([], cursor={})
            return
        while remaining:
            batch, remaining = remaining[:ROOMS_PER_QUERY], remaining[ROOMS_PER_QUERY:]
            body = await self.connector.call("POST", url, json={"roomIds": batch, "startTime": iso(start),
                                                                "endTime": iso(end)}) or {}
            infos = [i for i in body.get("scheduleInformation") or [] if isinstance(i, Mapping)]
            more = {"rooms": list(remaining), "from": start.isoformat(), "to": end.isoformat()}
            yield Page(infos, cursor=more if remaining else {})

    def normalize(self, record: Any) -> list[Entity]:
        return list(mapping.schedule_bookings(self.connector.name, record))
