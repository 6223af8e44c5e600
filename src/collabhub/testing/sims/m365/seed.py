"""Seeding: the sample company's M365 side, or a synthetic load for the benchmark.

``seed_company`` creates a mailbox per person, a group per department plus an all-staff group,
the company's M365 rooms (as places and room mailboxes, grouped into a room list per building),
and its M365 meetings with their weekly occurrences, attendee copies and room bookings.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from collabhub.testing.company import Company, MeetingSpec, RoomSpec
from collabhub.testing.sims.m365.calendars import Mailbox, format_graph_time, graph_id
from collabhub.testing.sims.m365.meetings import ical_uid
from collabhub.testing.sims.m365.state import SimState

__all__ = ["ALL_STAFF_GROUP", "seed_bulk", "seed_company"]

ALL_STAFF_GROUP = "00000000-0000-4000-8000-00000000a11a"
SYSTEM = "m365"


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "collabhub-sim:" + ":".join(map(str, parts))))


def add_room(state: SimState, spec: RoomSpec | None = None, *, email: str = "", name: str = "", capacity: int = 8,
             building: str = "Tower A", floor: int = 1) -> Mailbox:
    """A room: a place (for /places) and a room mailbox (for its calendar)."""
    if spec is not None:
        email, name, capacity, building, floor = spec.email, spec.name, spec.capacity, spec.building, spec.floor
    room_id = _guid("room", email)
    place = {
        "id": room_id, "emailAddress": email, "displayName": name, "nickname": name, "label": name,
        "address": {"street": "", "city": "Shanghai", "state": "", "countryOrRegion": "CN", "postalCode": ""},
        "geoCoordinates": None, "phone": None, "building": building, "floorNumber": floor,
        "floorLabel": f"{floor}F", "capacity": capacity, "bookingType": "standard", "audioDeviceName": None,
        "videoDeviceName": None, "displayDeviceName": None, "isWheelChairAccessible": False, "tags": [],
    }
    state.directory.rooms.append(place)
    lists = state.directory.room_list_members
    list_email = building.lower().replace(" ", "-") + "-rooms@example.com"
    if list_email not in lists:
        lists[list_email] = []
        state.directory.room_lists.append({
            "id": _guid("roomlist", list_email), "displayName": f"{building} rooms", "emailAddress": list_email,
            "address": place["address"], "geoCoordinates": None, "phone": None})
    lists[list_email].append(email.lower())
    user = {"id": room_id, "displayName": name, "mail": email, "userPrincipalName": email,
            "givenName": None, "surname": None, "jobTitle": None, "mobilePhone": None, "officeLocation": building,
            "employeeId": None, "department": None}
    return state.directory.add_mailbox(Mailbox(room_id, email.lower(), name, "room"), user)


def seed_company(state: SimState, company: Company) -> None:
    """Mailboxes, groups, rooms and meetings of the sample company (its ``m365`` side)."""
    directory = state.directory
    departments = {d.id: d for d in company.departments}
    for person in company.people:
        user = {"id": person.m365_id, "displayName": person.name, "mail": person.email,
                "userPrincipalName": person.email, "givenName": person.name_en.split()[0],
                "surname": person.name_en.split()[-1], "jobTitle": person.title, "mobilePhone": person.mobile,
                "officeLocation": None, "employeeId": person.employee_id,
                "department": departments[person.department].name_en}
        directory.add_mailbox(Mailbox(person.m365_id, person.email.lower(), person.name), user)
    for dept in company.departments:
        group_id = _guid("group", dept.id)
        directory.groups[group_id] = {"id": group_id, "displayName": dept.name_en, "mail": f"{dept.id}@example.com",
                                      "mailEnabled": True, "securityEnabled": False, "groupTypes": ["Unified"]}
        directory.group_members[group_id] = [p.m365_id for p in company.members_of(dept.id)]
    directory.groups[ALL_STAFF_GROUP] = {"id": ALL_STAFF_GROUP, "displayName": "All staff",
                                         "mail": "all-staff@example.com", "mailEnabled": True,
                                         "securityEnabled": False, "groupTypes": ["Unified"]}
    directory.group_members[ALL_STAFF_GROUP] = [p.m365_id for p in company.people]
    rooms = {r.id: add_room(state, r) for r in company.rooms_in(SYSTEM)}
    for spec in company.meetings_in(SYSTEM):
        _seed_meeting(state, company, spec, rooms)


def _seed_meeting(state: SimState, company: Company, spec: MeetingSpec, rooms: dict[str, Mailbox]) -> None:
    organizer = company.person(spec.organizer)
    mailbox = state.directory.resolve(organizer.email)
    assert mailbox is not None
    attendees: list[dict[str, Any]] = [
        {"type": "required", "emailAddress": {"name": company.person(p).name, "address": company.person(p).email}}
        for p in spec.attendees]
    location: dict[str, Any] = {"displayName": "", "locationType": "default"}
    for room_id in spec.rooms:
        room = rooms.get(room_id)
        if room is None:
            continue
        attendees.append({"type": "resource", "emailAddress": {"name": room.display_name, "address": room.address}})
        location = {"displayName": room.display_name, "locationType": "conferenceRoom",
                    "locationEmailAddress": room.address, "uniqueId": room.address, "uniqueIdType": "directory"}
    created = datetime.combine(company.start, datetime.min.time(), UTC) - timedelta(days=7)
    master_id = None
    if spec.recurrence:
        master_id = graph_id(mailbox.id, spec.id, "master")
        first_start, first_end = spec.instances()[0]
        mailbox.masters[master_id] = {
            "id": master_id, "type": "seriesMaster", "subject": spec.title, "iCalUId": ical_uid(spec.id, "series"),
            "start": {"dateTime": format_graph_time(first_start), "timeZone": "UTC"},
            "end": {"dateTime": format_graph_time(first_end), "timeZone": "UTC"},
            "recurrence": {"pattern": {"type": "weekly", "interval": 1,
                                       "daysOfWeek": [first_start.strftime("%A").lower()], "firstDayOfWeek": "monday"},
                           "range": {"type": "numbered", "startDate": first_start.date().isoformat(),
                                     "numberOfOccurrences": spec.occurrences, "recurrenceTimeZone": "UTC"}},
            "organizer": {"emailAddress": {"name": mailbox.display_name, "address": mailbox.address}},
            "isOrganizer": True, "sensitivity": "private" if spec.visibility == "private" else "normal",
        }
    for index, (start, end) in enumerate(spec.instances()):
        payload: dict[str, Any] = {
            "subject": spec.title,
            "body": {"contentType": "html", "content": f"<html><body><p>{spec.body}</p></body></html>"},
            "start": {"dateTime": format_graph_time(start), "timeZone": "UTC"},
            "end": {"dateTime": format_graph_time(end), "timeZone": "UTC"},
            "location": location, "attendees": attendees, "isOnlineMeeting": spec.online,
            "sensitivity": "private" if spec.visibility == "private" else "normal",
            "originalStartTimeZone": "China Standard Time",
        }
        if master_id:
            payload.update(type="occurrence", seriesMasterId=master_id,
                           originalStart=start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        uid = ical_uid(spec.id, index)
        state.book.create(mailbox, payload, event_id=graph_id(mailbox.id, spec.id, index), uid=uid, created=created,
                          notify=False)


def seed_bulk(state: SimState, *, mailboxes: int, events_per_mailbox: int, rooms: int, events_per_room: int,
              start: datetime) -> list[str]:
    """A synthetic tenant for the benchmark: organizer-only events, exact counts. Returns the mailbox addresses."""
    addresses = []
    created = start - timedelta(days=7)
    for m in range(mailboxes):
        address = f"bench.user{m:04d}@example.com"
        mailbox_id = _guid("bench-user", m)
        user = {"id": mailbox_id, "displayName": f"Bench User {m}", "mail": address, "userPrincipalName": address}
        mailbox = state.directory.add_mailbox(Mailbox(mailbox_id, address, f"Bench User {m}"), user)
        addresses.append(address)
        organizer = {"emailAddress": {"name": mailbox.display_name, "address": address}}
        for e in range(events_per_mailbox):
            begin = start + timedelta(hours=9 + (e % 8), days=e // 8)
            payload = {
                "subject": f"Bench meeting {m}-{e}",
                "body": {"contentType": "html", "content": "<p>Agenda: status, risks, asks</p>"},
                "start": {"dateTime": format_graph_time(begin), "timeZone": "UTC"},
                "end": {"dateTime": format_graph_time(begin + timedelta(minutes=30)), "timeZone": "UTC"},
                "attendees": [{"type": "required",
                               "emailAddress": {"name": "Guest", "address": f"guest{e}@partner.example"}}],
                "sensitivity": "private" if e % 13 == 7 else "normal",
            }
            event_id = graph_id(mailbox_id, e)
            mailbox.put(state.book.build(mailbox, event_id=event_id, uid=ical_uid("bench", m, e), payload=payload,
                                         organizer=organizer, is_organizer=True, response="organizer",
                                         created=created))
    for r in range(rooms):
        room = add_room(state, email=f"bench.room{r:03d}@example.com", name=f"Bench Room {r:03d}",
                        building="Tower A" if r % 2 else "Tower B", floor=r % 5 + 1)
        organizer = {"emailAddress": {"name": "Bench User 0", "address": addresses[0] if addresses else ""}}
        for e in range(events_per_room):
            begin = start + timedelta(hours=9 + (e % 8), days=e // 8)
            payload = {"subject": f"Room booking {r}-{e}",
                       "start": {"dateTime": format_graph_time(begin), "timeZone": "UTC"},
                       "end": {"dateTime": format_graph_time(begin + timedelta(minutes=60)), "timeZone": "UTC"},
                       "location": {"displayName": room.display_name, "locationEmailAddress": room.address}}
            room.put(state.book.build(room, event_id=graph_id(room.id, e), uid=ical_uid("bench-room", r, e),
                                      payload=payload, organizer=organizer, is_organizer=False, response="accepted",
                                      created=created))
    return addresses
