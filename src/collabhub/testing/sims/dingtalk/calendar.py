"""Simulated calendar v1.0: events (pages, ``syncToken``, idempotent create), meeting rooms, room schedules."""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from collabhub.testing.sims.dingtalk.state import TZ, iso_local, iso_utc

if TYPE_CHECKING:
    from collabhub.testing.sims.dingtalk.simulator import DingTalkSimulator

__all__ = ["calendar_routes", "occurrences"]

_EVENTS = "/v1.0/calendar/users/{union_id}/calendars/{calendar_id}/events"


def _token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _untoken(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "requestid": "sim"}, status_code=status)


def _when(value: dict[str, Any]) -> datetime:
    if value.get("dateTime"):
        return datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
    return datetime.fromisoformat(str(value["date"])).replace(tzinfo=TZ)


def occurrences(event: dict[str, Any]) -> list[tuple[datetime, datetime]]:
    """Occurrences of an event (weekly/daily numbered series expanded, others: the first)."""
    start, end = _when(event["start"]), _when(event["end"])
    rec = event.get("recurrence") or {}
    kind = (rec.get("pattern") or {}).get("type")
    count = int((rec.get("range") or {}).get("numberOfOccurrences") or 1) if kind in ("daily", "weekly") else 1
    step = timedelta(days=1 if kind == "daily" else 7) * int((rec.get("pattern") or {}).get("interval") or 1)
    local_start, local_end = start.astimezone(TZ), end.astimezone(TZ)
    return [(local_start + i * step, local_end + i * step) for i in range(min(count, 52))]


def _view(event: dict[str, Any], union_id: str) -> dict[str, Any]:
    """The event as ``union_id`` sees it (``self`` flags set)."""
    out = copy.deepcopy(event)
    for person in [out.get("organizer") or {}, *(out.get("attendees") or [])]:
        person["self"] = person.get("id") == union_id
    return out


def calendar_routes(sim: DingTalkSimulator) -> list[Route]:
    state = sim.state

    async def list_events(request: Request) -> JSONResponse:
        union_id = request.path_params["union_id"]
        q = request.query_params
        size = int(q.get("maxResults") or 100)
        if size > 100:
            return _error(400, "invalidParameter.maxResults", "maxResults must be at most 100")
        if q.get("nextToken"):
            page = _untoken(q["nextToken"])
            if page is None or page.get("u") != union_id:
                return _error(400, "invalidParameter.nextToken", "nextToken is invalid")
        elif q.get("syncToken"):
            sync = _untoken(q["syncToken"])
            if sync is None or sync.get("u") != union_id or sync.get("seq", 0) < sim.sync_tokens_valid_from:
                return _error(400, "InvalidSyncToken", "syncToken is invalid or expired: read the calendar again")
            page = {"u": union_id, "mode": "sync", "since": sync["seq"], "snap": state.seq, "off": 0}
        else:
            page = {"u": union_id, "mode": "full", "snap": state.seq, "off": 0,
                    "tmin": q.get("timeMin"), "tmax": q.get("timeMax"),
                    "deleted": q.get("showDeleted") == "true"}
        ids = state.user_events.get(union_id, set())
        if page["mode"] == "sync":
            chosen = sorted((state.event_seq[i], i) for i in ids if page["since"] < state.event_seq[i] <= page["snap"])
            events = [state.events[i] for _, i in chosen]
        else:
            tmin = datetime.fromisoformat(page["tmin"].replace("Z", "+00:00")) if page.get("tmin") else None
            tmax = datetime.fromisoformat(page["tmax"].replace("Z", "+00:00")) if page.get("tmax") else None
            if tmin and tmax and tmax - tmin > timedelta(days=366):
                return _error(400, "invalidParameter.timeRange", "timeMin and timeMax must be at most a year apart")
            events = []
            for i in ids:
                event = state.events[i]
                if event["status"] == "cancelled" and not page.get("deleted"):
                    continue
                spans = occurrences(event)
                if (tmin and spans[-1][1] < tmin) or (tmax and spans[0][0] >= tmax):
                    continue
                events.append(event)
            events.sort(key=lambda e: (_when(e["start"]), e["id"]))
        off = int(page["off"])
        chunk = events[off:off + size]
        body: dict[str, Any] = {"events": [_view(e, union_id) for e in chunk]}
        if off + size < len(events):
            body["nextToken"] = _token({**page, "off": off + size})
        elif page["mode"] == "sync" or not page.get("tmax"):
            body["syncToken"] = _token({"u": union_id, "seq": page["snap"]})
        return JSONResponse(body)

    async def get_event(request: Request) -> JSONResponse:
        event = state.events.get(request.path_params["event_id"])
        if event is None:
            return _error(404, "eventNotFound", "event not found")
        return JSONResponse(_view(event, request.path_params["union_id"]))

    def _apply(event: dict[str, Any], body: dict[str, Any]) -> None:
        for key in ("summary", "description", "start", "end", "isAllDay", "recurrence", "location", "reminders"):
            if key in body:
                event[key] = body[key]
        if "attendees" in body:
            event["attendees"] = [
                {"id": a["id"], "displayName": (state.person(a["id"]) or {}).get("name", a["id"]),
                 "responseStatus": "needsAction", "isOptional": bool(a.get("isOptional"))}
                for a in body["attendees"] if a.get("id")]
        event["updateTime"] = iso_utc(sim.now())

    async def create_event(request: Request) -> JSONResponse:
        union_id = request.path_params["union_id"]
        body = await request.json()
        if not body.get("summary") or not body.get("start"):
            return _error(400, "invalidParameter", "summary and start are required")
        token = request.headers.get("x-client-token")
        if token and (union_id, token) in state.client_tokens:
            return JSONResponse(_view(state.events[state.client_tokens[(union_id, token)]], union_id))
        person = state.person(union_id) or {}
        now = iso_utc(sim.now())
        event: dict[str, Any] = {"id": state.new_id("dtevt"), "organizer": {
            "id": union_id, "displayName": person.get("name", union_id), "responseStatus": "accepted"},
            "attendees": [], "meetingRooms": [], "status": "confirmed", "createTime": now, "categories": []}
        _apply(event, body)
        state.add_event(event)
        if token:
            state.client_tokens[(union_id, token)] = event["id"]
        return JSONResponse(_view(event, union_id))

    async def update_event(request: Request) -> JSONResponse:
        event = state.events.get(request.path_params["event_id"])
        if event is None:
            return _error(404, "eventNotFound", "event not found")
        _apply(event, await request.json())
        state.touch_event(event["id"])
        state.index_event(event)
        return JSONResponse(_view(event, request.path_params["union_id"]))

    async def delete_event(request: Request) -> JSONResponse:
        sim.cancel_event(request.path_params["event_id"])
        return JSONResponse({})

    async def add_rooms(request: Request) -> JSONResponse:
        event = state.events.get(request.path_params["event_id"])
        if event is None:
            return _error(404, "eventNotFound", "event not found")
        wanted = [r.get("roomId") for r in (await request.json()).get("meetingRoomsToAdd") or []]
        have = {r["roomId"] for r in event.get("meetingRooms") or []}
        new = [r for r in wanted if r and r not in have]
        if len(have) + len(new) > 5:
            return _error(400, "invalidParameter.meetingRooms", "at most 5 rooms per event")
        for room_id in new:
            if room_id not in state.rooms:
                return _error(400, "invalidParameter.roomId", f"unknown room {room_id}")
            if sim.room_busy(room_id, event):
                return _error(400, "meetingRoomNotAvailable", f"room {room_id} is booked at that time")
        for room_id in new:
            event.setdefault("meetingRooms", []).append(
                {"roomId": room_id, "responseStatus": "accepted", "displayName": state.rooms[room_id]["roomName"]})
        if new:
            event["updateTime"] = iso_utc(sim.now())
            state.touch_event(event["id"])
            state.index_event(event)
        return JSONResponse({"result": True})

    async def list_rooms(request: Request) -> JSONResponse:
        q = request.query_params
        size = int(q.get("maxResults") or 20)
        if size > 100:
            return _error(400, "invalidParameter.maxResults", "maxResults must be at most 100")
        off = int(q.get("nextToken") or 0)
        rooms = [state.rooms[r] for r in sorted(state.rooms)]
        chunk = rooms[off:off + size]
        more = off + size < len(rooms)
        return JSONResponse({"result": chunk, "hasMore": more, "nextToken": off + size if more else None})

    async def schedules(request: Request) -> JSONResponse:
        body = await request.json()
        start = datetime.fromisoformat(str(body.get("startTime")).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(body.get("endTime")).replace("Z", "+00:00"))
        if end - start > timedelta(days=90):
            return _error(400, "invalidParameter.timeRange", "the window must be at most 90 days")
        out = []
        for room_id in body.get("roomIds") or []:
            items = []
            for event_id in sorted(state.room_events.get(room_id, ())):
                event = state.events[event_id]
                room = next((r for r in event.get("meetingRooms") or [] if r["roomId"] == room_id), None)
                if event["status"] == "cancelled" or room is None or room["responseStatus"] == "declined":
                    continue
                for s, e in occurrences(event):
                    if s < end and e > start:
                        items.append({"start": {"dateTime": iso_local(s), "timeZone": "Asia/Shanghai"},
                                      "end": {"dateTime": iso_local(e), "timeZone": "Asia/Shanghai"},
                                      "status": "BUSY" if room["responseStatus"] == "accepted" else "TENTATIVE",
                                      "eventId": event_id, "organizer": dict(event.get("organizer") or {})})
            for item in items:
                item["organizer"].pop("responseStatus", None)
            items.sort(key=lambda i: (i["start"]["dateTime"], i["eventId"]))
            out.append({"roomId": room_id, "error": "" if room_id in state.rooms else "room not found",
                        "scheduleItems": items})
        return JSONResponse({"scheduleInformation": out})

    return [
        Route(_EVENTS, list_events, methods=["GET"]),
        Route(_EVENTS, create_event, methods=["POST"]),
        Route(_EVENTS + "/{event_id}", get_event, methods=["GET"]),
        Route(_EVENTS + "/{event_id}", update_event, methods=["PUT"]),
        Route(_EVENTS + "/{event_id}", delete_event, methods=["DELETE"]),
        Route(_EVENTS + "/{event_id}/meetingRooms", add_rooms, methods=["POST"]),
        Route("/v1.0/rooms/meetingRoomLists", list_rooms, methods=["GET"]),
        Route("/v1.0/calendar/users/{union_id}/meetingRooms/schedules/query", schedules, methods=["POST"]),
    ]
