"""Raw DingTalk records -> unified entities.

A room booking carries only free/busy facts (room, span, organizer), so it is not confidential
even when its meeting is private; the meeting itself is.

People are keyed by **unionId** (what the calendar, todo and room APIs use); the directory's
``userid`` travels in ``extra``. Booking ids are ``<roomId>:<eventId>:<start ms>`` whether they
come from an event's ``meetingRooms`` or from a room's schedule, so both paths agree on one row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from collabhub.errors import MappingError
from collabhub.model import (
    Attendee,
    Booking,
    BookingStatus,
    Department,
    Entity,
    EntityKind,
    Meeting,
    MeetingStatus,
    Person,
    PersonRef,
    Recurrence,
    Resource,
    ResourceKind,
    ResponseStatus,
    SourceRef,
    StatusCategory,
    Task,
    Visibility,
)
from collabhub_dingtalk.recurrence import occurrences, rrule
from collabhub_dingtalk.settings import ApprovalProcess
from collabhub_dingtalk.timeutil import event_time, parse_iso, parse_ms, zone

__all__ = [
    "PRIVATE_CATEGORIES",
    "approval_entity",
    "booking_id",
    "department",
    "event_entities",
    "person",
    "person_ref",
    "room",
    "schedule_bookings",
    "todo_task",
]

PRIVATE_CATEGORIES = frozenset({"private", "私密", "私人"})
PRIORITIES = {10: "low", 20: "normal", 30: "urgent", 40: "very urgent"}
_RESPONSES = {"accepted": ResponseStatus.ACCEPTED, "declined": ResponseStatus.DECLINED,
              "tentative": ResponseStatus.TENTATIVE}
_ROOM_STATUS = {"accepted": BookingStatus.CONFIRMED, "tentative": BookingStatus.REQUESTED,
                "declined": BookingStatus.DECLINED, "needsAction": BookingStatus.REQUESTED}
_SCHEDULE_STATUS = {"BUSY": BookingStatus.CONFIRMED, "TENTATIVE": BookingStatus.REQUESTED}


def _source(conn: str, kind: EntityKind, external_id: Any, *, updated: datetime | None = None,
            url: str | None = None, version: str | None = None) -> SourceRef:
    if external_id in (None, ""):
        raise MappingError(f"{kind} record has no id")
    return SourceRef(connector=conn, kind=kind, external_id=str(external_id), updated=updated, url=url,
                     version=version)


def _mobile(user: Mapping[str, Any]) -> str | None:
    """``mobile`` with its ``state_code`` as ``+86-138...`` (how the other systems write numbers)."""
    mobile = str(user.get("mobile") or "")
    if not mobile:
        return None
    if mobile.startswith("+") or not user.get("state_code"):
        return mobile
    return f"+{user['state_code']}-{mobile}"


def person_ref(conn: str, union_id: str | None, display_name: str | None = None,
               user: Mapping[str, Any] | None = None) -> PersonRef | None:
    """A reference by unionId, enriched from a directory record when one is known."""
    if not union_id and not user:
        return None
    user = user or {}
    return PersonRef(connector=conn, external_id=union_id or user.get("unionid"),
                     display_name=display_name or user.get("name"), email=user.get("email") or None,
                     mobile=_mobile(user), employee_id=user.get("job_number") or None)


# -- directory ---------------------------------------------------------------------------------

def department(conn: str, raw: Mapping[str, Any], *, root: int = 1) -> Department:
    """``topapi/v2/department/listsub`` (or ``get``) element -> Department (id = dept_id)."""
    parent = raw.get("parent_id")
    return Department(
        source=_source(conn, EntityKind.DEPARTMENT, raw.get("dept_id")),
        name=str(raw.get("name") or raw.get("dept_id")),
        parent=None if parent in (None, root, str(root)) else str(parent),
    )


def person(conn: str, raw: Mapping[str, Any]) -> Person:
    """``topapi/v2/user/list`` (or ``get``) element -> Person (id = unionId)."""
    union_id = raw.get("unionid")
    if not union_id:
        raise MappingError(f"user {raw.get('userid')!r} has no unionid")
    departments = [str(d) for d in raw.get("dept_id_list") or []]
    return Person(
        source=_source(conn, EntityKind.PERSON, union_id),
        name=str(raw.get("name") or raw.get("userid")),
        email=raw.get("email") or raw.get("org_email") or None,
        mobile=_mobile(raw),
        employee_id=raw.get("job_number") or None,
        title=raw.get("title") or None,
        departments=departments,
        department=departments[0] if departments else None,
        active=bool(raw.get("active", True)),
        extra={"userid": raw.get("userid")},
    )


# -- calendar ----------------------------------------------------------------------------------

def booking_id(room_id: str, event_id: str, start: datetime) -> str:
    return f"{room_id}:{event_id}:{int(start.timestamp() * 1000)}"


def _is_private(event: Mapping[str, Any]) -> bool:
    return any(str(c.get("displayName", "")).lower() in PRIVATE_CATEGORIES
               for c in event.get("categories") or [] if isinstance(c, Mapping))


def event_entities(conn: str, owner: str, event: Mapping[str, Any]) -> list[Entity]:
    """A ``listEvents`` event (seen in ``owner``'s calendar) -> Meeting plus one Booking per room occurrence.

    Nothing here depends on whose calendar the event came from (``owner`` is only for messages), so
    every copy maps alike.
    """
    event_id = event.get("id")
    start, tz, all_day = event_time(event.get("start"), what="start")
    end, _, _ = event_time(event.get("end"), what="end")
    if end < start:
        raise MappingError(f"event {event_id} ends before it starts")
    organizer_raw = event.get("organizer") or {}
    organizer = person_ref(conn, organizer_raw.get("id"), organizer_raw.get("displayName"))
    attendees = [
        Attendee(person=ref, response=_RESPONSES.get(str(a.get("responseStatus")), ResponseStatus.NONE),
                 optional=bool(a.get("isOptional")))
        for a in event.get("attendees") or []
        if (ref := person_ref(conn, a.get("id"), a.get("displayName"))) is not None
    ]
    recurrence = None
    if event.get("recurrence"):
        recurrence = Recurrence(series_id=str(event_id), rule=rrule(event["recurrence"]))
    elif event.get("seriesMasterId"):
        origin = (event.get("originStart") or {}).get("dateTime")
        recurrence = Recurrence(series_id=str(event["seriesMasterId"]), instance_start=parse_iso(origin, tz),
                                is_exception=True)
    status = str(event.get("status") or "confirmed").lower()
    cancelled = status == "cancelled"
    private = _is_private(event)
    rooms = [r for r in event.get("meetingRooms") or [] if isinstance(r, Mapping) and r.get("roomId")]
    updated = parse_iso(event.get("updateTime"), tz)
    meeting = Meeting(
        source=_source(conn, EntityKind.MEETING, event_id, updated=updated),
        title=str(event.get("summary") or ""),
        organizer=organizer,
        attendees=attendees,
        start=start.astimezone(UTC), end=end.astimezone(UTC), timezone=tz, all_day=all_day,
        recurrence=recurrence,
        location=(event.get("location") or {}).get("displayName") or None,
        rooms=[str(r["roomId"]) for r in rooms],
        status=MeetingStatus(status) if status in MeetingStatus._value2member_map_ else MeetingStatus.CONFIRMED,
        visibility=Visibility.PRIVATE if private else Visibility.NORMAL,
        confidential=private,
        online_url=(event.get("onlineMeetingInfo") or {}).get("url") or None,
        body=event.get("description") or None,
        updated=updated,
        deleted=cancelled,
    )
    out: list[Entity] = [meeting]
    local = zone(tz)
    spans = [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in
             occurrences(start.astimezone(local), end.astimezone(local), event.get("recurrence"))]
    for room_raw in rooms:
        status_b = BookingStatus.CANCELLED if cancelled else _ROOM_STATUS.get(
            str(room_raw.get("responseStatus")), BookingStatus.REQUESTED)
        for b_start, b_end in spans:
            out.append(Booking(
                source=_source(conn, EntityKind.BOOKING, booking_id(str(room_raw["roomId"]), str(event_id), b_start)),
                resource_id=str(room_raw["roomId"]), start=b_start, end=b_end, booked_by=organizer,
                meeting_id=str(event_id), status=status_b, deleted=cancelled,
            ))
    return out


# -- rooms -------------------------------------------------------------------------------------

def room(conn: str, raw: Mapping[str, Any]) -> Resource:
    """``meetingRoomLists`` element -> Resource (kind room)."""
    location = raw.get("roomLocation") or {}
    group = raw.get("roomGroup") or {}
    return Resource(
        source=_source(conn, EntityKind.RESOURCE, raw.get("roomId")),
        name=str(raw.get("roomName") or raw.get("roomId")),
        resource_kind=ResourceKind.ROOM,
        capacity=raw.get("roomCapacity"),
        location=location.get("title") or location.get("desc") or None,
        extra={k: v for k, v in {"group": group.get("groupName"), "status": raw.get("roomStatus"),
                                 "labels": [lbl.get("labelName") for lbl in raw.get("roomLabels") or []
                                            if isinstance(lbl, Mapping)] or None}.items() if v},
    )


def schedule_bookings(conn: str, info: Mapping[str, Any]) -> list[Booking]:
    """A ``scheduleInformation`` element (one room's busy items) -> Bookings."""
    room_id = info.get("roomId")
    if not room_id:
        raise MappingError("schedule information without roomId")
    out = []
    for item in info.get("scheduleItems") or []:
        start, _, _ = event_time(item.get("start"), what="start")
        end, _, _ = event_time(item.get("end"), what="end")
        event_id = str(item.get("eventId") or f"busy-{int(start.timestamp())}")
        organizer = item.get("organizer") or {}
        out.append(Booking(
            source=_source(conn, EntityKind.BOOKING, booking_id(str(room_id), event_id, start)),
            resource_id=str(room_id), start=start.astimezone(UTC), end=end.astimezone(UTC),
            booked_by=person_ref(conn, organizer.get("id"), organizer.get("displayName")),
            meeting_id=event_id if item.get("eventId") else None,
            status=_SCHEDULE_STATUS.get(str(item.get("status")), BookingStatus.CONFIRMED),
        ))
    return out


# -- todos -------------------------------------------------------------------------------------

def todo_task(conn: str, raw: Mapping[str, Any]) -> Task:
    """``GET /v1.0/todo/users/{unionId}/tasks/{taskId}`` body -> Task."""
    done = bool(raw.get("done"))
    executors = raw.get("executorIds") or []
    url = (raw.get("detailUrl") or {}).get("pcUrl") or None
    modified = parse_ms(raw.get("modifiedTime"))
    return Task(
        source=_source(conn, EntityKind.TASK, raw.get("id"), updated=modified, url=url),
        title=str(raw.get("subject") or ""),
        description=raw.get("description") or None,
        status="done" if done else "open",
        status_category=StatusCategory.DONE if done else StatusCategory.TODO,
        assignee=person_ref(conn, executors[0]) if executors else None,
        reporter=person_ref(conn, raw.get("creatorId")),
        priority=PRIORITIES.get(raw.get("priority")) if raw.get("priority") is not None else None,
        due=parse_ms(raw.get("dueTime")),
        created=parse_ms(raw.get("createdTime")),
        updated=modified,
        completed=parse_ms(raw.get("finishTime")) if done else None,
        labels=["todo"],
        extra={k: v for k, v in {"sourceId": raw.get("sourceId"), "executorIds": executors[1:] or None,
                                 "participantIds": raw.get("participantIds") or None}.items() if v},
    )


# -- approvals ---------------------------------------------------------------------------------

def _form(result: Mapping[str, Any]) -> dict[str, Any]:
    return {str(f.get("name")): f.get("value") for f in result.get("formComponentValues") or []
            if isinstance(f, Mapping)}


def _date_range(value: Any, field: str) -> tuple[datetime, datetime]:
    try:
        items = json.loads(value) if isinstance(value, str) else value
        start, end = (parse_iso(items[0]), parse_iso(items[1]))
    except (ValueError, TypeError, IndexError, KeyError):
        raise MappingError(f"approval field {field!r} is not a [start, end] date range: {value!r}") from None
    if start is None or end is None:
        raise MappingError(f"approval field {field!r} has an empty start or end")
    return start, end


_APPROVAL_CATEGORY = {"RUNNING": StatusCategory.IN_PROGRESS, "NEW": StatusCategory.TODO,
                      "COMPLETED": StatusCategory.DONE, "TERMINATED": StatusCategory.DONE,
                      "CANCELED": StatusCategory.DONE}


def _booking_status(status: str, result: str) -> BookingStatus:
    if status in ("RUNNING", "NEW"):
        return BookingStatus.REQUESTED
    if status == "COMPLETED":
        return BookingStatus.CONFIRMED if result == "agree" else BookingStatus.DECLINED
    return BookingStatus.CANCELLED


def approval_entity(conn: str, record: Mapping[str, Any], process: ApprovalProcess,
                    users: Mapping[str, Mapping[str, Any]]) -> Entity:
    """``{processInstanceId, processCode, result: <processInstances body.result>}`` -> Task or Booking.

    ``users`` maps userid -> directory record (for unionId, email, mobile, job number).
    """
    instance_id = record.get("processInstanceId")
    result = record.get("result")
    if not isinstance(result, Mapping):
        raise MappingError(f"approval {instance_id} has no result")
    status = str(result.get("status") or "")
    outcome = str(result.get("result") or "").lower()
    originator = result.get("originatorUserId")
    user = users.get(str(originator)) if originator else None
    reporter = person_ref(conn, (user or {}).get("unionid"), None, user) if user else (
        PersonRef(connector=conn, display_name=str(originator)) if originator else None)
    created = parse_iso(result.get("createTime"))
    finished = parse_iso(result.get("finishTime"))
    title = str(result.get("title") or record.get("processCode") or instance_id)
    department = str(result["originatorDeptId"]) if result.get("originatorDeptId") else None
    if process.kind == "booking":
        form = _form(result)
        room_id = form.get(process.room_field)
        if not room_id:
            raise MappingError(f"approval {instance_id} has no room in field {process.room_field!r}")
        start, end = _date_range(form.get(process.time_field), process.time_field)
        return Booking(
            source=_source(conn, EntityKind.BOOKING, instance_id, updated=finished or created),
            resource_id=str(room_id), start=start.astimezone(UTC), end=end.astimezone(UTC), booked_by=reporter,
            status=_booking_status(status, outcome), reason=title, title=title, department=department,
            extra={"businessId": result.get("businessId"), "processCode": record.get("processCode")},
        )
    running = [t for t in result.get("tasks") or [] if isinstance(t, Mapping) and t.get("status") == "RUNNING"]
    approver = users.get(str(running[0].get("userId"))) if running else None
    return Task(
        source=_source(conn, EntityKind.TASK, instance_id, updated=finished or created),
        title=title,
        description="\n".join(f"{k}: {v}" for k, v in _form(result).items()) or None,
        status=f"{status}/{outcome}" if outcome else status,
        status_category=_APPROVAL_CATEGORY.get(status, StatusCategory.TODO),
        assignee=person_ref(conn, approver.get("unionid"), None, approver) if approver else None,
        reporter=reporter,
        created=created, updated=finished or created, completed=finished if status == "COMPLETED" else None,
        department=department,
        labels=["approval", str(record.get("processCode"))],
        extra={"businessId": result.get("businessId"), "result": outcome or None},
    )

