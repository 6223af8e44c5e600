"""Calendar v4 events -> a Meeting plus one Booking per room (resource attendee) and occurrence.

Event ids: a single event or a series master is ``{uid}_0``; an exception (one changed or
cancelled occurrence) is ``{uid}_{original_start_seconds}`` with ``is_exception`` and
``recurring_event_id``. Room bookings of a series are expanded per occurrence up to a horizon and
keyed ``{uid}_{occurrence_start_seconds}@{room_id}``, so an exception's own booking
(``{event_id}@{room_id}``) replaces exactly the occurrence it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from collabhub.errors import MappingError
from collabhub.model import (
    Attendee,
    Booking,
    BookingStatus,
    Entity,
    EntityKind,
    Meeting,
    MeetingStatus,
    PersonRef,
    Recurrence,
    ResponseStatus,
    SourceRef,
    Visibility,
)
from collabhub_feishu.mapping.common import person, require

__all__ = ["event_entities", "event_time", "occurrences", "series_uid"]

DEFAULT_TZ = "Asia/Shanghai"
MAX_OCCURRENCES = 520

_RSVP = {"accept": ResponseStatus.ACCEPTED, "tentative": ResponseStatus.TENTATIVE,
         "decline": ResponseStatus.DECLINED, "needs_action": ResponseStatus.NONE}
_ROOM_STATUS = {"accept": BookingStatus.CONFIRMED, "tentative": BookingStatus.REQUESTED,
                "needs_action": BookingStatus.REQUESTED, "decline": BookingStatus.DECLINED,
                "removed": BookingStatus.CANCELLED}
_STATUS = {"confirmed": MeetingStatus.CONFIRMED, "tentative": MeetingStatus.TENTATIVE,
           "cancelled": MeetingStatus.CANCELLED}


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def event_time(value: Mapping[str, Any] | None, what: str) -> tuple[datetime, bool, str]:
    """``start_time``/``end_time`` -> (aware UTC datetime, all-day?, IANA zone)."""
    if not value:
        raise MappingError(f"Feishu event has no {what}")
    if value.get("timestamp") not in (None, ""):
        tz = str(value.get("timezone") or DEFAULT_TZ)
        try:
            return datetime.fromtimestamp(int(value["timestamp"]), UTC), False, tz
        except (TypeError, ValueError) as exc:
            raise MappingError(f"Feishu event {what}.timestamp is not a number: {value['timestamp']!r}") from exc
    if value.get("date"):
        try:
            day = datetime.strptime(str(value["date"]), "%Y-%m-%d")
        except ValueError as exc:
            raise MappingError(f"Feishu event {what}.date is not YYYY-MM-DD: {value['date']!r}") from exc
        return day.replace(tzinfo=UTC), True, "UTC"  # all-day events are in UTC
    raise MappingError(f"Feishu event {what} has neither timestamp nor date")


def series_uid(event_id: str) -> str:
    """The uid shared by a series and its exceptions (the event id without its ``_suffix``)."""
    return event_id.rsplit("_", 1)[0] if "_" in event_id else event_id


def _original_start(event: Mapping[str, Any]) -> datetime | None:
    suffix = str(event.get("event_id", "")).rsplit("_", 1)[-1]
    return datetime.fromtimestamp(int(suffix), UTC) if suffix.isdigit() and suffix != "0" else None


def occurrences(rule: str, start: datetime, tz: str, until: datetime) -> list[datetime]:
    """Occurrence starts of an RRULE series from ``start`` up to ``until`` (capped)."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    local = start.astimezone(_zone(tz))
    try:
        series = rrulestr(text, dtstart=local)
    except (ValueError, TypeError) as exc:
        raise MappingError(f"Feishu event recurrence is not a valid RRULE: {rule!r}") from exc
    out: list[datetime] = []
    for occurrence in series:
        if occurrence > until or len(out) >= MAX_OCCURRENCES:
            break
        out.append(occurrence.astimezone(UTC))
    return out


def _attendees(connector: str, event: Mapping[str, Any]) -> tuple[list[Attendee], list[tuple[str, str]]]:
    people: list[Attendee] = []
    rooms: list[tuple[str, str]] = []
    for item in event.get("attendees") or []:
        kind = item.get("type")
        rsvp = str(item.get("rsvp_status") or "needs_action")
        if kind == "resource" and item.get("room_id"):
            rooms.append((str(item["room_id"]), rsvp))
        elif kind == "user" and rsvp != "removed":
            ref = person(connector, item.get("user_id") or item.get("attendee_id"), item.get("display_name"))
            if ref is not None:
                people.append(Attendee(person=ref, response=_RSVP.get(rsvp, ResponseStatus.NONE),
                                       optional=bool(item.get("is_optional"))))
        elif kind == "third_party" and item.get("third_party_email") and rsvp != "removed":
            ref = PersonRef(connector=connector, email=str(item["third_party_email"]),
                            display_name=item.get("display_name") or None)
            people.append(Attendee(person=ref, response=_RSVP.get(rsvp, ResponseStatus.NONE),
                                   optional=bool(item.get("is_optional"))))
    return people, rooms


def event_entities(connector: str, event: Mapping[str, Any], *, now: datetime,
                   horizon: timedelta = timedelta(days=120)) -> list[Entity]:
    """The Meeting of one event and the Bookings of its rooms."""
    event_id = str(require(event, "event_id", "event"))
    start, all_day, tz = event_time(event.get("start_time"), "start_time")
    end, _, _ = event_time(event.get("end_time"), "end_time")
    private = event.get("visibility") == "private"
    status = _STATUS.get(str(event.get("status") or "confirmed"), MeetingStatus.CONFIRMED)
    organizer_info = event.get("event_organizer") or {}
    organizer = person(connector, organizer_info.get("user_id"), organizer_info.get("display_name"))
    attendees, rooms = _attendees(connector, event)
    rule = event.get("recurrence") or None
    recurrence = None
    if event.get("is_exception") and event.get("recurring_event_id"):
        recurrence = Recurrence(series_id=str(event["recurring_event_id"]), instance_start=_original_start(event),
                                is_exception=True)
    elif rule:
        recurrence = Recurrence(series_id=event_id, instance_start=start, rule=str(rule))
    location = event.get("location") or {}
    place = ", ".join(str(p) for p in (location.get("name"), location.get("address")) if p) or None
    title = str(event.get("summary") or "")
    extra = {k: event.get(k) for k in ("organizer_calendar_id", "free_busy_status") if event.get(k)}
    if event.get("_calendar_id"):
        extra["calendar_id"] = event["_calendar_id"]
    meeting = Meeting(
        source=SourceRef(connector=connector, kind=EntityKind.MEETING, external_id=event_id,
                         url=event.get("app_link") or None),
        title=title, organizer=organizer, attendees=attendees, start=start, end=end, timezone=tz, all_day=all_day,
        recurrence=recurrence, location=place, rooms=[room for room, rsvp in rooms if rsvp != "removed"],
        status=status, visibility=Visibility.PRIVATE if private else Visibility.NORMAL, confidential=private,
        online_url=(event.get("vchat") or {}).get("meeting_url") or None, body=event.get("description") or None,
        extra=extra,
    )
    entities: list[Entity] = [meeting]
    spans = [(event_id, start, end)]
    if rule and recurrence is not None and not recurrence.is_exception:
        length = end - start
        uid = series_uid(event_id)
        spans = [(f"{uid}_{int(s.timestamp())}", s, s + length) for s in occurrences(str(rule), start, tz,
                                                                                      now + horizon)]
    for room_id, rsvp in rooms:
        booking_status = _ROOM_STATUS.get(rsvp, BookingStatus.REQUESTED)
        if status is MeetingStatus.CANCELLED:
            booking_status = BookingStatus.CANCELLED
        for span_id, span_start, span_end in spans:
            entities.append(Booking(
                source=SourceRef(connector=connector, kind=EntityKind.BOOKING, external_id=f"{span_id}@{room_id}"),
                resource_id=room_id, start=span_start, end=span_end, booked_by=organizer, meeting_id=event_id,
                status=booking_status, title=None if private else title or None, confidential=private,
            ))
    return entities
