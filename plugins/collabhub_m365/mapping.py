"""Graph JSON -> unified model: events to Meetings, rooms to Resources, room calendar items to Bookings.

Field names are Graph's (``event``, ``room`` resources of Microsoft Graph v1.0). Times come back in
UTC because the connector never sends ``Prefer: outlook.timezone``.

Events are the bulk of a sync, so :func:`meeting_from_event` and :func:`booking_from_room_event`
hand pydantic one dict with the nested source, people and recurrence as plain dicts: one
validation call per entity instead of one per nested model (the result is the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collabhub.errors import MappingError
from collabhub.model import (
    Booking,
    BookingStatus,
    EntityKind,
    Meeting,
    MeetingStatus,
    Resource,
    ResourceKind,
    ResponseStatus,
    SourceRef,
    Visibility,
)

__all__ = [
    "MAILBOX_KEY",
    "booking_from_room_event",
    "graph_datetime",
    "meeting_from_event",
    "parse_instant",
    "resource_from_room",
    "room_response",
]

MAILBOX_KEY = "@collabhub.mailbox"  # added by the streams: which mailbox a raw event was read from

RESPONSES = {
    "accepted": ResponseStatus.ACCEPTED,
    "organizer": ResponseStatus.ACCEPTED,
    "tentativelyAccepted": ResponseStatus.TENTATIVE,
    "declined": ResponseStatus.DECLINED,
    "none": ResponseStatus.NONE,
    "notResponded": ResponseStatus.NONE,
}
VISIBILITY = {"normal": Visibility.NORMAL, "personal": Visibility.PRIVATE, "private": Visibility.PRIVATE,
              "confidential": Visibility.CONFIDENTIAL}
BOOKING_STATUS = {"accepted": BookingStatus.CONFIRMED, "organizer": BookingStatus.CONFIRMED,
                  "tentativelyAccepted": BookingStatus.REQUESTED, "none": BookingStatus.REQUESTED,
                  "notResponded": BookingStatus.REQUESTED, "declined": BookingStatus.DECLINED}
UTC_ZONES = frozenset({"UTC", "Etc/UTC", "GMT", "tzone://Microsoft/Utc"})


def parse_instant(value: str | None) -> datetime | None:
    """An ISO 8601 instant as Graph writes it (``…T01:02:03.1234567Z``); ``None`` stays ``None``."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)  # Python 3.11 reads 7 fractional digits and "Z"
    except ValueError:
        pass
    else:
        return moment if moment.tzinfo else _in_utc(value, moment)
    text = value.strip().replace("Z", "+00:00")
    head, dot, tail = text.partition(".")
    if dot:
        digits = "".join(ch for ch in tail if ch.isdigit())
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits):]}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _in_utc(text: str, naive: datetime) -> datetime:
    """``naive``, read from ``text``, as UTC: parsing ``text`` again with an offset is ~5x faster than replace()."""
    try:
        moment = datetime.fromisoformat(text + "+00:00")
    except ValueError:
        moment = naive
    # a bare date takes no offset (Python reads "2024-05-01+00:00" as a naive midnight)
    return moment if moment.tzinfo is UTC else naive.replace(tzinfo=UTC)


def graph_datetime(slot: Mapping[str, Any] | None, what: str) -> datetime:
    """A Graph ``dateTimeTimeZone`` as an aware datetime."""
    if not slot or not slot.get("dateTime"):
        raise MappingError(f"event has no {what}")
    zone = str(slot.get("timeZone") or "UTC")
    try:
        moment = parse_instant(str(slot["dateTime"]))
    except ValueError as exc:
        raise MappingError(f"event {what} {slot.get('dateTime')!r} is not a date-time") from exc
    assert moment is not None
    if zone in UTC_ZONES:
        return moment
    try:
        return moment.replace(tzinfo=ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MappingError(f"event {what} uses time zone {zone!r} that cannot be read; the connector asks for UTC "
                           "(do not send Prefer: outlook.timezone)") from exc


def _person(connector: str, recipient: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A recipient as PersonRef fields; Graph names people in events by SMTP address, which is their id here."""
    email = (recipient or {}).get("emailAddress") or {}
    address = str(email.get("address") or "").lower() or None
    name = email.get("name") or None
    if not address and not name:
        return None
    return {"connector": connector, "external_id": address, "display_name": name, "email": address}


def _address(entry: Mapping[str, Any]) -> str:
    return str((entry.get("emailAddress") or {}).get("address") or "").lower()


def room_response(event: Mapping[str, Any]) -> dict[str, str]:
    """Each resource attendee's answer: ``{room address: response}``."""
    return {_address(a): str((a.get("status") or {}).get("response") or "none")
            for a in event.get("attendees") or [] if a.get("type") == "resource" and _address(a)}


def _body(event: Mapping[str, Any]) -> str | None:
    body = event.get("body") or {}
    if str(body.get("contentType", "")).lower() == "text":
        return body.get("content") or None
    return event.get("bodyPreview") or None


def _source(connector: str, kind: EntityKind, event: Mapping[str, Any], updated: datetime | None) -> dict[str, Any]:
    """SourceRef fields of an event."""
    return {"connector": connector, "kind": kind, "external_id": str(event["id"]), "url": event.get("webLink"),
            "version": event.get("changeKey"), "updated": updated}


def meeting_from_event(event: Mapping[str, Any], connector: str, mailbox: str | None = None) -> Meeting:
    """One calendar event (a single instance, an occurrence or an exception) as a Meeting."""
    if not event.get("id"):
        raise MappingError("event has no id")
    sensitivity = str(event.get("sensitivity") or "normal")
    visibility = VISIBILITY.get(sensitivity, Visibility.PRIVATE)
    attendees = [{"person": ref, "optional": a.get("type") == "optional",
                  "response": RESPONSES.get(str((a.get("status") or {}).get("response")), ResponseStatus.NONE)}
                 for a in event.get("attendees") or [] if a.get("type") != "resource"
                 if (ref := _person(connector, a)) is not None]
    recurrence = None
    if event.get("seriesMasterId"):
        recurrence = {"series_id": str(event["seriesMasterId"]),
                      "instance_start": parse_instant(event.get("originalStart")),
                      "is_exception": event.get("type") == "exception"}
    online = (event.get("onlineMeeting") or {}).get("joinUrl") or event.get("onlineMeetingUrl")
    location = (event.get("location") or {}).get("displayName") or None
    extra: dict[str, Any] = {"iCalUId": event.get("iCalUId"), "type": event.get("type")}
    if mailbox:
        extra["mailbox"] = mailbox
    rooms = room_response(event)
    if rooms:
        extra["room_responses"] = rooms
    updated = parse_instant(event.get("lastModifiedDateTime"))
    return Meeting.model_validate({
        "source": _source(connector, EntityKind.MEETING, event, updated),
        "title": str(event.get("subject") or ""),
        "organizer": _person(connector, event.get("organizer")),
        "attendees": attendees,
        "start": graph_datetime(event.get("start"), "start"),
        "end": graph_datetime(event.get("end"), "end"),
        "timezone": str(event.get("originalStartTimeZone") or "UTC"),
        "all_day": bool(event.get("isAllDay")),
        "recurrence": recurrence,
        "location": location,
        "rooms": sorted(rooms),
        "status": MeetingStatus.CANCELLED if event.get("isCancelled") else MeetingStatus.CONFIRMED,
        "visibility": visibility,
        "confidential": visibility is not Visibility.NORMAL,
        "online_url": online or None,
        "body": _body(event),
        "updated": updated,
        "extra": extra,
    })


def _room_location(room: Mapping[str, Any]) -> str | None:
    parts = [room.get("building"), room.get("floorLabel") or (f"{room['floorNumber']}F"
                                                              if room.get("floorNumber") is not None else None)]
    text = " ".join(str(p) for p in parts if p)
    return text or None


def resource_from_room(room: Mapping[str, Any], connector: str, room_lists: Iterable[str] = ()) -> Resource:
    """A ``microsoft.graph.room`` place as a Resource keyed by its email address."""
    email = str(room.get("emailAddress") or "").lower()
    if not email:
        raise MappingError("room has no emailAddress (rooms are addressed by email)")
    extra = {"placeId": room.get("id"), "bookingType": room.get("bookingType"), "tags": room.get("tags") or []}
    lists = sorted(set(room_lists))
    if lists:
        extra["roomLists"] = lists
    return Resource(
        source=SourceRef(connector=connector, kind=EntityKind.RESOURCE, external_id=email),
        name=str(room.get("displayName") or email),
        resource_kind=ResourceKind.ROOM,
        capacity=room.get("capacity"),
        location=_room_location(room),
        email=email,
        extra=extra,
    )


def booking_from_room_event(event: Mapping[str, Any], connector: str, room: str) -> Booking:
    """An item of a room's calendar (the room's copy of a meeting) as a Booking of that room."""
    if not event.get("id"):
        raise MappingError("room calendar item has no id")
    private = str(event.get("sensitivity") or "normal") != "normal"
    if event.get("isCancelled"):
        status = BookingStatus.CANCELLED
    else:
        status = BOOKING_STATUS.get(str((event.get("responseStatus") or {}).get("response")), BookingStatus.CONFIRMED)
    return Booking.model_validate({
        "source": _source(connector, EntityKind.BOOKING, event, parse_instant(event.get("lastModifiedDateTime"))),
        "resource_id": room.lower(),
        "start": graph_datetime(event.get("start"), "start"),
        "end": graph_datetime(event.get("end"), "end"),
        "booked_by": _person(connector, event.get("organizer")),
        "status": status,
        "title": None if private else (event.get("subject") or None),
        "confidential": private,
        "extra": {"iCalUId": event.get("iCalUId")},
    })
