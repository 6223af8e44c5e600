"""Simulated calendar v4: calendar list, primary calendars, events (anchor/page/sync), attendees, free/busy.

Event list modes, as documented: ``anchor_time`` pages through the calendar (``page_token``)
and ends with a ``sync_token``; ``sync_token`` returns what changed since (cancelled events
included); ``start_time``/``end_time`` returns one page truncated at ``page_size``; a
``sync_token`` combined with ``start_time``/``end_time`` is refused here (Feishu warns it loses
data). A foreign or unknown ``sync_token`` answers 190002.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.rrule import rrulestr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collabhub.testing.sims.feishu.responses import error, int_param, ok, page_answer, paged, public
from collabhub.testing.sims.feishu.state import FeishuState, decode_token, encode_token

__all__ = ["calendar_routes", "room_busy"]

PRIMARY_BATCH_LIMIT = 50


def _parse_rfc3339(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def room_busy(state: FeishuState, room_id: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Busy spans of a room's resource calendar within [start, end], series expanded, exceptions applied."""
    calendar_id = state.room_calendar.get(room_id)
    spans: list[tuple[datetime, datetime]] = []
    for event_id in state.live_events(calendar_id, None) if calendar_id else []:
        event = state.events[event_id]
        if event.get("status") == "cancelled":
            continue
        first = datetime.fromtimestamp(int(event["start_time"]["timestamp"]), UTC)
        length = datetime.fromtimestamp(int(event["end_time"]["timestamp"]), UTC) - first
        if event.get("recurrence"):
            uid = event_id.rsplit("_", 1)[0]
            starts = [s.astimezone(UTC) for s in rrulestr(event["recurrence"], dtstart=first)
                      .between(start - length, end, inc=True)]
            starts = [s for s in starts if f"{uid}_{int(s.timestamp())}" not in state.events]
        else:
            starts = [first]
        spans.extend((s, s + length) for s in starts if s < end and s + length > start)
    return sorted(spans)


def calendar_routes(state: FeishuState) -> list[Route]:
    async def calendars(request: Request) -> Response:
        items = [state.calendars[c] for c in state.app_calendar_ids]
        result = paged(items, request, default_size=500, max_size=1000, scope="calendars")
        if result is None:
            return error(190002, "invalid page_token")
        chunk, meta = result
        body: dict[str, Any] = {"calendar_list": [public(c) for c in chunk], **meta}
        if not meta["has_more"]:
            body["sync_token"] = encode_token({"calendars": state.seq})
        return ok(body)

    async def primarys(request: Request) -> Response:
        payload = await request.json()
        user_ids = payload.get("user_ids") or []
        if not isinstance(user_ids, list) or not user_ids or len(user_ids) > PRIMARY_BATCH_LIMIT:
            return error(190002, f"user_ids must hold 1 to {PRIMARY_BATCH_LIMIT} ids")
        out = [{"calendar": public(state.calendars[state.primary_of[u]]), "user_id": u}
               for u in user_ids if u in state.primary_of]
        return ok({"calendars": out})

    def event_view(event_id: str) -> dict[str, Any]:
        return public(state.events[event_id])

    async def events(request: Request) -> Response:
        calendar_id = request.path_params["calendar_id"]
        if calendar_id not in state.calendars:
            return error(190004, "calendar not found or no permission")
        q = request.query_params
        size = int_param(request, "page_size", 500, low=1, high=1000)
        if size < 50:
            return error(190002, "page_size must be between 50 and 1000")
        if q.get("sync_token") and (q.get("start_time") or q.get("end_time")):
            return error(190002, "sync_token cannot be combined with start_time/end_time")
        if q.get("start_time") and q.get("end_time"):
            start, end = int(q["start_time"]), int(q["end_time"])
            ids = [e for e in state.live_events(calendar_id, start)
                   if int(state.events[e]["start_time"]["timestamp"]) <= end]
            return ok({"has_more": False, "items": [event_view(e) for e in ids[:size]]})
        if q.get("page_token"):
            token = decode_token(q["page_token"])
            if token is None or token.get("c") != calendar_id:
                return error(190002, "invalid page_token")
        elif q.get("sync_token"):
            sync = decode_token(q["sync_token"])
            if sync is None or sync.get("c") != calendar_id or "q" not in sync:
                return error(190002, "invalid sync_token")
            token = {"c": calendar_id, "m": "sync", "from": sync["q"], "upto": state.seq, "o": 0}
        else:
            anchor = int(q["anchor_time"]) if q.get("anchor_time") else None
            token = {"c": calendar_id, "m": "full", "a": anchor, "snap": state.seq, "o": 0}
        if token["m"] == "sync":
            ids = state.changes(calendar_id, int(token["from"]), int(token["upto"]))
            done_seq = int(token["upto"])
        else:
            ids = state.live_events(calendar_id, token.get("a"))
            done_seq = int(token["snap"])
        offset = int(token["o"])
        chunk = ids[offset:offset + size]
        more = offset + size < len(ids)
        body: dict[str, Any] = {"has_more": more, "items": [event_view(e) for e in chunk]}
        if more and (token["m"] == "sync" or token.get("a") is not None):
            body["page_token"] = encode_token({**token, "o": offset + size})
        if not more:
            body["sync_token"] = encode_token({"c": calendar_id, "q": done_seq})
        return ok(body)

    async def event(request: Request) -> Response:
        event_id = request.path_params["event_id"]
        if event_id not in state.events or request.path_params["calendar_id"] not in state.event_calendars[event_id]:
            return error(190005, "event not found")
        return ok({"event": event_view(event_id)})

    async def attendees(request: Request) -> Response:
        event_id = request.path_params["event_id"]
        if event_id not in state.events:
            return error(190005, "event not found")
        everyone = state.events[event_id].get("_all_attendees") or state.events[event_id].get("attendees") or []
        return page_answer(everyone, request, default_size=20, max_size=100, scope=f"att:{event_id}",
                           bad_token=(190002, "invalid page_token"))

    async def freebusy(request: Request) -> Response:
        payload = await request.json()
        start, end = _parse_rfc3339(payload.get("time_min")), _parse_rfc3339(payload.get("time_max"))
        if start is None or end is None or end <= start or end - start > timedelta(days=90):
            return error(190002, "time_min/time_max must be RFC 3339 and at most 90 days apart")
        room_id = payload.get("room_id")
        if payload.get("user_id") or not room_id:
            return error(190002, "this simulator answers free/busy for rooms (room_id) only")
        if room_id not in state.room_calendar:
            return error(190002, "room_id not found")
        spans = room_busy(state, room_id, start, end)
        return ok({"freebusy_list": [{"start_time": s.isoformat().replace("+00:00", "Z"),
                                      "end_time": e.isoformat().replace("+00:00", "Z")} for s, e in spans]})

    return [
        Route("/open-apis/calendar/v4/calendars", calendars),
        Route("/open-apis/calendar/v4/calendars/primarys", primarys, methods=["POST"]),
        Route("/open-apis/calendar/v4/calendars/{calendar_id}/events", events),
        Route("/open-apis/calendar/v4/calendars/{calendar_id}/events/{event_id}", event),
        Route("/open-apis/calendar/v4/calendars/{calendar_id}/events/{event_id}/attendees", attendees),
        Route("/open-apis/calendar/v4/freebusy/list", freebusy, methods=["POST"]),
    ]
