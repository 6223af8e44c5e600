"""Calendar routes: calendarView delta, events (get/create/patch/delete/instances), getSchedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from collabhub.testing.sims.m365.calendars import DeltaToken, Mailbox, format_graph_time, parse_graph_time
from collabhub.testing.sims.m365.router import GraphRequest, GraphResponse, Router, graph_error
from collabhub.testing.sims.m365.state import SimState

__all__ = ["register_calendar_routes"]

MAX_PAGE = 1000
_AVAILABILITY = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}


def _no_user(user: str) -> GraphResponse:
    return graph_error(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")


def _not_found() -> GraphResponse:
    return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _removed(event_id: str) -> bytes:
    return json.dumps({"@odata.type": "#microsoft.graph.event", "id": event_id,
                       "@removed": {"reason": "deleted"}}, separators=(",", ":")).encode()


class CalendarRoutes:
    def __init__(self, state: SimState) -> None:
        self.state = state

    def mailbox(self, user: str) -> Mailbox | None:
        return self.state.directory.resolve(user)

    # -- calendarView delta ----------------------------------------------------------------

    def delta(self, req: GraphRequest, user: str) -> GraphResponse:
        mailbox = self.mailbox(user)
        if mailbox is None:
            return _no_user(user)
        size = req.prefer("odata.maxpagesize")
        page_size = min(MAX_PAGE, max(1, int(size))) if size and size.isdigit() else self.state.default_page_size
        raw = req.query.get("$skiptoken") or req.query.get("$deltatoken")
        if raw:
            try:
                token = DeltaToken.decode(raw)
            except (ValueError, TypeError):
                return graph_error(400, "BadRequest", "The $skiptoken or $deltatoken is malformed.")
            if token.mailbox != mailbox.id or token.epoch != mailbox.epoch:
                return self._expired(req, user, token)
            if "$deltatoken" in req.query:  # a new round from the previous round's snapshot
                token = DeltaToken(mailbox.id, token.start, token.end, token.upto, mailbox.seq, token.upto,
                                   mailbox.epoch)
        else:
            try:
                start = parse_graph_time(req.query["startDateTime"]).timestamp()
                end = parse_graph_time(req.query["endDateTime"]).timestamp()
            except (KeyError, ValueError):
                return graph_error(400, "ErrorInvalidParameter",
                                   "This request requires a time window specified by the query string parameters "
                                   "StartDateTime and EndDateTime.")
            token = DeltaToken(mailbox.id, start, end, 0, mailbox.seq, 0, mailbox.epoch)
        items, last, more = self._page(mailbox, token, page_size)
        link_base = f"{req.base}/users/{quote(user)}/calendarView/delta"
        if more:
            nxt = DeltaToken(mailbox.id, token.start, token.end, token.since, token.upto, last, mailbox.epoch)
            link = ("@odata.nextLink", f"{link_base}?$skiptoken={nxt.encode()}")
        else:
            done = DeltaToken(mailbox.id, token.start, token.end, token.upto, token.upto, token.upto, mailbox.epoch)
            link = ("@odata.deltaLink", f"{link_base}?$deltatoken={done.encode()}")
        head = json.dumps({"@odata.context": f"{req.base}/$metadata#Collection(event)", link[0]: link[1]})
        body = head[:-1].encode() + b',"value":[' + b",".join(items) + b"]}"
        return GraphResponse(200, body)

    def _page(self, mailbox: Mailbox, token: DeltaToken, page_size: int) -> tuple[list[bytes], int, bool]:
        items: list[bytes] = []
        last = token.after
        for seq, event_id in mailbox.changes(token.after, token.upto):
            start, end = mailbox.spans[event_id]
            item: bytes | None = None
            if event_id in mailbox.removed:
                item = _removed(event_id) if token.since else None
            elif start < token.end and end > token.start:
                item = mailbox.encode(event_id)
            elif token.since:  # changed outside the window: Graph reports it under @removed too
                item = _removed(event_id)
            if item is not None:
                if len(items) >= page_size:
                    return items, last, True
                items.append(item)
            last = seq
        return items, last, False

    def _expired(self, req: GraphRequest, user: str, token: DeltaToken) -> GraphResponse:
        if self.state.expired_status == 410:
            start = format_graph_time(_utc(token.start))
            end = format_graph_time(_utc(token.end))
            location = (f"{req.base}/users/{quote(user)}/calendarView/delta?startDateTime={start}Z"
                        f"&endDateTime={end}Z")
            return graph_error(410, "syncStateNotFound", "The sync state generation is not found.",
                               {"Location": location})
        return graph_error(400, "syncStateNotFound", "The sync state generation is not found.")

    def calendar_view(self, req: GraphRequest, user: str) -> GraphResponse:
        """Plain (non-delta) calendarView: the window's events in start order, ``$top`` per page."""
        mailbox = self.mailbox(user)
        if mailbox is None:
            return _no_user(user)
        try:
            start = parse_graph_time(req.query["startDateTime"]).timestamp()
            end = parse_graph_time(req.query["endDateTime"]).timestamp()
        except (KeyError, ValueError):
            return graph_error(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required.")
        top = int(req.query.get("$top") or 10)
        found = [mailbox.events[i] for i, (s, e) in mailbox.spans.items()
                 if i in mailbox.events and s < end and e > start]
        found.sort(key=lambda e: e["start"]["dateTime"])
        return GraphResponse(200, {"@odata.context": f"{req.base}/$metadata#Collection(event)", "value": found[:top]})

    # -- events ------------------------------------------------------------------------------

    def get_event(self, req: GraphRequest, user: str, event_id: str) -> GraphResponse:
        mailbox = self.mailbox(user)
        if mailbox is None:
            return _no_user(user)
        event = mailbox.events.get(event_id) or mailbox.masters.get(event_id)
        return GraphResponse(200, event) if event is not None else _not_found()

    def instances(self, req: GraphRequest, user: str, event_id: str) -> GraphResponse:
        mailbox = self.mailbox(user)
        if mailbox is None:
            return _no_user(user)
        if event_id not in mailbox.masters:
            return _not_found()
        try:
            start = parse_graph_time(req.query["startDateTime"]).timestamp()
            end = parse_graph_time(req.query["endDateTime"]).timestamp()
        except (KeyError, ValueError):
            return graph_error(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required.")
        found = [e for i, e in mailbox.events.items() if e.get("seriesMasterId") == event_id
                 and mailbox.spans[i][0] < end and mailbox.spans[i][1] > start]
        found.sort(key=lambda e: e["start"]["dateTime"])
        return GraphResponse(200, {"@odata.context": f"{req.base}/$metadata#Collection(event)", "value": found})

    def create_event(self, req: GraphRequest, user: str) -> GraphResponse:
        mailbox = self.mailbox(user)
        if mailbox is None:
            return _no_user(user)
        body = req.body if isinstance(req.body, dict) else None
        if not body or "start" not in body or "end" not in body:
            return graph_error(400, "ErrorInvalidRequest", "The event needs start and end.")
        try:
            return GraphResponse(201, self.state.book.create(mailbox, body))
        except (KeyError, ValueError) as exc:
            return graph_error(400, "ErrorInvalidRequest", f"Invalid event: {exc}")

    def patch_event(self, req: GraphRequest, user: str, event_id: str) -> GraphResponse:
        mailbox = self.mailbox(user)
        if mailbox is None:
            return _no_user(user)
        if isinstance(req.body, dict) and "transactionId" in req.body:
            current = mailbox.events.get(event_id, {})
            if req.body["transactionId"] != current.get("transactionId"):
                return graph_error(400, "ErrorInvalidRequest", "transactionId cannot be changed after creation.")
        event = self.state.book.update(mailbox, event_id, req.body if isinstance(req.body, dict) else {})
        return GraphResponse(200, event) if event is not None else _not_found()

    def delete_event(self, req: GraphRequest, user: str, event_id: str) -> GraphResponse:
        mailbox = self.mailbox(user)
        if mailbox is None:
            return _no_user(user)
        return GraphResponse(204) if self.state.book.delete(mailbox, event_id) else _not_found()

    # -- getSchedule -------------------------------------------------------------------------

    def get_schedule(self, req: GraphRequest, user: str) -> GraphResponse:
        if self.mailbox(user) is None:
            return _no_user(user)
        body = req.body if isinstance(req.body, dict) else {}
        try:
            start = parse_graph_time(body["startTime"]["dateTime"])
            end = parse_graph_time(body["endTime"]["dateTime"])
            schedules = list(body["schedules"])
        except (KeyError, TypeError, ValueError):
            return graph_error(400, "ErrorInvalidRequest", "schedules, startTime and endTime are required.")
        interval = int(body.get("availabilityViewInterval") or 30)
        if not 5 <= interval <= 1440:
            return graph_error(400, "ErrorInvalidParameter", "availabilityViewInterval must be between 5 and 1440.")
        context = f"{req.base}/$metadata#Collection(microsoft.graph.scheduleInformation)"
        return GraphResponse(200, {"@odata.context": context,
                                   "value": [self._schedule(s, start, end, interval) for s in schedules]})

    def _schedule(self, who: str, start: Any, end: Any, interval: int) -> dict[str, Any]:
        mailbox = self.mailbox(who)
        if mailbox is None:
            return {"scheduleId": who, "availabilityView": "", "scheduleItems": [],
                    "error": {"message": f"The specified recipient {who} could not be found.",
                              "responseCode": "ErrorMailRecipientNotFound"}}
        busy = [e for e in mailbox.overlapping(start.timestamp(), end.timestamp()) if e.get("showAs") != "free"]
        busy.sort(key=lambda e: e["start"]["dateTime"])
        slots = []
        moment = start
        while moment < end:
            slot_end = moment + timedelta(minutes=interval)
            code = "0"
            for event in busy:
                s, e = parse_graph_time(event["start"]["dateTime"]), parse_graph_time(event["end"]["dateTime"])
                if s < slot_end and e > moment:
                    code = max(code, _AVAILABILITY.get(event.get("showAs", "busy"), "2"))
            slots.append(code)
            moment = slot_end
        items = [{"isPrivate": e.get("sensitivity") != "normal", "status": e.get("showAs", "busy"),
                  "subject": "" if e.get("sensitivity") != "normal" else e["subject"],
                  "location": (e.get("location") or {}).get("displayName", ""),
                  "start": e["start"], "end": e["end"]} for e in busy]
        return {"scheduleId": who, "availabilityView": "".join(slots), "scheduleItems": items,
                "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                                 "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                                 "timeZone": {"name": "UTC"}}}


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def register_calendar_routes(router: Router, state: SimState) -> CalendarRoutes:
    routes = CalendarRoutes(state)
    router.add("GET", "/users/{user}/calendarView/delta", routes.delta)
    router.add("GET", "/users/{user}/calendarView", routes.calendar_view)
    router.add("GET", "/users/{user}/calendar/calendarView/delta", routes.delta)
    router.add("POST", "/users/{user}/calendar/getSchedule", routes.get_schedule)
    router.add("GET", "/users/{user}/events/{event_id}/instances", routes.instances)
    router.add("GET", "/users/{user}/events/{event_id}", routes.get_event)
    router.add("PATCH", "/users/{user}/events/{event_id}", routes.patch_event)
    router.add("DELETE", "/users/{user}/events/{event_id}", routes.delete_event)
    router.add("POST", "/users/{user}/events", routes.create_event)
    router.add("POST", "/users/{user}/calendar/events", routes.create_event)
    router.add("POST", "/users/{user}/calendars/{calendar}/events", lambda req, user, calendar: routes.create_event(
        req, user))
    return routes
