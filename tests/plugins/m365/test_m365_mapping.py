"""Graph event/room JSON (shapes from the Graph v1.0 docs) -> Meeting, Resource, Booking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from collabhub.errors import MappingError
from collabhub.model import BookingStatus, MeetingStatus, ResponseStatus, Visibility
from collabhub_m365.mapping import (
    booking_from_room_event,
    graph_datetime,
    meeting_from_event,
    parse_instant,
    resource_from_room,
)


def event(**overrides: Any) -> dict[str, Any]:
    base = {
        "@odata.etag": 'W/"EZ9r3czxY0m2jz8c45czkwAAFXcvIQ=="',
        "id": "AAMkADNVxRAAA=",
        "createdDateTime": "2026-11-01T08:00:00.1234567Z",
        "lastModifiedDateTime": "2026-11-02T09:30:00.1234567Z",
        "changeKey": "EZ9r3czxY0m2jz8c45czkwAAFXcvIQ==",
        "iCalUId": "040000008200E00074C5B7101A82E00800000000",
        "originalStartTimeZone": "China Standard Time",
        "subject": "Monthly coordination",
        "bodyPreview": "Agenda: status, risks",
        "body": {"contentType": "html", "content": "<html><body>Agenda: status, risks</body></html>"},
        "sensitivity": "normal",
        "isAllDay": False,
        "isCancelled": False,
        "isOrganizer": True,
        "type": "singleInstance",
        "seriesMasterId": None,
        "webLink": "https://outlook.office365.com/owa/?itemid=AAMkADNVxRAAA%3D",
        "start": {"dateTime": "2026-11-09T01:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-11-09T02:00:00.0000000", "timeZone": "UTC"},
        "location": {"displayName": "3F-B01 会议室", "locationType": "conferenceRoom",
                     "locationEmailAddress": "room001@contoso.com"},
        "attendees": [
            {"type": "required", "status": {"response": "accepted", "time": "2026-11-01T09:00:00Z"},
             "emailAddress": {"name": "Adele Vance", "address": "AdeleV@contoso.com"}},
            {"type": "optional", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
             "emailAddress": {"name": "Alex Wilber", "address": "AlexW@contoso.com"}},
            {"type": "resource", "status": {"response": "accepted", "time": "2026-11-01T08:00:05Z"},
             "emailAddress": {"name": "3F-B01 会议室", "address": "room001@contoso.com"}},
        ],
        "organizer": {"emailAddress": {"name": "Megan Bowen", "address": "MeganB@contoso.com"}},
        "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/abc"},
    }
    return {**base, **overrides}


def test_single_event_maps_every_field() -> None:
    meeting = meeting_from_event(event(), "outlook", "meganb@contoso.com")
    assert meeting.source.external_id == "AAMkADNVxRAAA="
    assert meeting.source.version == "EZ9r3czxY0m2jz8c45czkwAAFXcvIQ=="
    assert meeting.source.updated == datetime(2026, 11, 2, 9, 30, 0, 123456, tzinfo=UTC)
    assert meeting.start == datetime(2026, 11, 9, 1, 0, tzinfo=UTC)
    assert meeting.organizer is not None and meeting.organizer.email == "meganb@contoso.com"
    assert [(a.person.email, a.response, a.optional) for a in meeting.attendees] == [
        ("adelev@contoso.com", ResponseStatus.ACCEPTED, False), ("alexw@contoso.com", ResponseStatus.NONE, True)]
    assert meeting.rooms == ["room001@contoso.com"]
    assert meeting.location == "3F-B01 会议室"
    assert meeting.online_url == "https://teams.microsoft.com/l/meetup-join/abc"
    assert meeting.body == "Agenda: status, risks"
    assert meeting.visibility is Visibility.NORMAL and not meeting.confidential
    assert meeting.extra["mailbox"] == "meganb@contoso.com"
    assert meeting.extra["room_responses"] == {"room001@contoso.com": "accepted"}


def test_occurrence_keeps_its_series_id() -> None:
    meeting = meeting_from_event(event(type="occurrence", seriesMasterId="AAMkSERIES=",
                                       originalStart="2026-11-16T01:00:00Z"), "outlook")
    assert meeting.recurrence is not None
    assert meeting.recurrence.series_id == "AAMkSERIES="
    assert meeting.recurrence.instance_start == datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    assert not meeting.recurrence.is_exception
    changed = meeting_from_event(event(type="exception", seriesMasterId="AAMkSERIES="), "outlook")
    assert changed.recurrence is not None and changed.recurrence.is_exception


@pytest.mark.parametrize(("sensitivity", "visibility"), [("private", Visibility.PRIVATE),
                                                         ("personal", Visibility.PRIVATE),
                                                         ("confidential", Visibility.CONFIDENTIAL)])
def test_private_events_are_confidential(sensitivity: str, visibility: Visibility) -> None:
    meeting = meeting_from_event(event(sensitivity=sensitivity), "outlook")
    assert meeting.visibility is visibility and meeting.confidential


def test_cancelled_event() -> None:
    assert meeting_from_event(event(isCancelled=True), "outlook").status is MeetingStatus.CANCELLED


def test_non_utc_zone_is_honoured_and_garbage_is_a_mapping_error() -> None:
    local = meeting_from_event(event(start={"dateTime": "2026-11-09T09:00:00", "timeZone": "Asia/Shanghai"}),
                               "outlook")
    assert local.start == datetime(2026, 11, 9, 1, 0, tzinfo=UTC)
    with pytest.raises(MappingError, match="time zone"):
        meeting_from_event(event(start={"dateTime": "2026-11-09T09:00:00", "timeZone": "Nowhere Standard"}),
                           "outlook")
    with pytest.raises(MappingError, match="start"):
        meeting_from_event(event(start=None), "outlook")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-09T01:02:03.1234567", datetime(2026, 11, 9, 1, 2, 3, 123456, tzinfo=UTC)),  # Graph's naive UTC
    ("2026-11-09T01:02:03.1234567Z", datetime(2026, 11, 9, 1, 2, 3, 123456, tzinfo=UTC)),
    ("2026-11-09T01:02:03", datetime(2026, 11, 9, 1, 2, 3, tzinfo=UTC)),
    ("2026-11-09T01", datetime(2026, 11, 9, 1, tzinfo=UTC)),
    ("2026-11-09", datetime(2026, 11, 9, tzinfo=UTC)),  # a bare date: midnight UTC
    ("20261109T010203", datetime(2026, 11, 9, 1, 2, 3, tzinfo=UTC)),
    ("2026-11-09T09:02:03+08:00", datetime(2026, 11, 9, 1, 2, 3, tzinfo=UTC)),
    ("2026-11-09T01:02:03.123456789012Z", datetime(2026, 11, 9, 1, 2, 3, 123456, tzinfo=UTC)),
    ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
])
def test_instants_are_aware_and_naive_ones_are_utc(text: str, expected: datetime) -> None:
    moment = parse_instant(text)
    assert moment == expected and moment is not None and moment.utcoffset() is not None
    if not text.endswith("+08:00"):
        assert moment.tzinfo is UTC
    assert graph_datetime({"dateTime": text, "timeZone": "UTC"}, "start") == expected
    assert parse_instant(None) is None and parse_instant("") is None
    with pytest.raises(ValueError):
        parse_instant("next tuesday")


def test_room_place_to_resource() -> None:
    room = {"id": "3162F1E1-C4C0-604B-51D8-91DA78989EB1", "emailAddress": "Conf1@contoso.com",
            "displayName": "Conf Room 1", "building": "1", "floorNumber": 1, "floorLabel": None, "capacity": 50,
            "bookingType": "standard", "tags": ["bean bags"]}
    resource = resource_from_room(room, "outlook", ["bldg1@contoso.com"])
    assert resource.source.external_id == "conf1@contoso.com"
    assert (resource.name, resource.capacity, resource.location) == ("Conf Room 1", 50, "1 1F")
    assert resource.extra["roomLists"] == ["bldg1@contoso.com"]
    with pytest.raises(MappingError):
        resource_from_room({"id": "x", "displayName": "No mail"}, "outlook")


def test_room_calendar_item_to_booking() -> None:
    copy = event(isOrganizer=False, responseStatus={"response": "accepted", "time": "2026-11-01T08:00:05Z"},
                 sensitivity="private")
    booking = booking_from_room_event(copy, "outlook", "Room001@contoso.com")
    assert booking.resource_id == "room001@contoso.com"
    assert booking.status is BookingStatus.CONFIRMED
    assert booking.title is None and booking.confidential  # a private meeting shows only as busy
    assert booking.booked_by is not None and booking.booked_by.email == "meganb@contoso.com"
    tentative = booking_from_room_event(event(responseStatus={"response": "tentativelyAccepted"}), "outlook", "r@x")
    assert tentative.status is BookingStatus.REQUESTED
