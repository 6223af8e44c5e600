"""Raw Feishu records (field names as the API returns them) -> unified entities."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from collabhub.errors import MappingError
from collabhub.model import (
    Booking,
    BookingStatus,
    Meeting,
    MeetingStatus,
    ResponseStatus,
    StatusCategory,
    Task,
    Visibility,
)
from collabhub_feishu.config import ApprovalSpec
from collabhub_feishu.mapping import (
    approval_entities,
    department_entity,
    event_entities,
    person_entity,
    room_entity,
    task_entity,
)

NOW = datetime(2026, 11, 27, tzinfo=UTC)
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 Asia/Shanghai


def event(**fields: object) -> dict:
    base = {
        "event_id": "d1a2b3c4-0000-4000-8000-000000000001_0",
        "organizer_calendar_id": "feishu.cn_abc@group.calendar.feishu.cn",
        "summary": "月度跨部门协调会", "description": "议程：进度、风险",
        "start_time": {"timestamp": str(int(START.timestamp())), "timezone": "Asia/Shanghai"},
        "end_time": {"timestamp": str(int((START + timedelta(hours=1)).timestamp())), "timezone": "Asia/Shanghai"},
        "visibility": "default", "status": "confirmed", "recurrence": "", "is_exception": False,
        "recurring_event_id": "", "vchat": {"vc_type": "vc", "meeting_url": "https://vc.feishu.cn/j/123456789"},
        "location": {"name": "3F-C02 会议室", "address": "Tower A"},
        "event_organizer": {"user_id": "ou_org", "display_name": "王伟"},
        "app_link": "https://applink.feishu.cn/client/calendar/event/detail?key=x",
        "attendees": [
            {"type": "user", "attendee_id": "user_1", "rsvp_status": "accept", "is_optional": False,
             "is_organizer": True, "display_name": "王伟", "user_id": "ou_org"},
            {"type": "user", "attendee_id": "user_2", "rsvp_status": "decline", "is_optional": True,
             "display_name": "李娜", "user_id": "ou_li"},
            {"type": "user", "attendee_id": "user_3", "rsvp_status": "removed", "user_id": "ou_gone"},
            {"type": "resource", "attendee_id": "resource_1", "rsvp_status": "accept", "room_id": "omm_room1",
             "display_name": "3F-C02 会议室"},
            {"type": "third_party", "attendee_id": "tp_1", "rsvp_status": "tentative",
             "third_party_email": "partner@example.org"},
        ],
        "has_more_attendee": False,
    }
    base.update(fields)
    return base


def test_event_maps_to_meeting_and_room_booking() -> None:
    meeting, booking = event_entities("fs", event(), now=NOW)
    assert isinstance(meeting, Meeting) and isinstance(booking, Booking)
    assert meeting.start == START and meeting.timezone == "Asia/Shanghai"
    assert meeting.organizer.external_id == "ou_org"
    assert [(a.person.external_id or a.person.email, a.response, a.optional) for a in meeting.attendees] == [
        ("ou_org", ResponseStatus.ACCEPTED, False), ("ou_li", ResponseStatus.DECLINED, True),
        ("partner@example.org", ResponseStatus.TENTATIVE, False)]
    assert meeting.rooms == ["omm_room1"]
    assert meeting.online_url == "https://vc.feishu.cn/j/123456789"
    assert meeting.location == "3F-C02 会议室, Tower A"
    assert booking.source.external_id == "d1a2b3c4-0000-4000-8000-000000000001_0@omm_room1"
    assert booking.resource_id == "omm_room1" and booking.status is BookingStatus.CONFIRMED
    assert booking.meeting_id == meeting.source.external_id
    assert booking.title == "月度跨部门协调会"


def test_private_event_is_confidential_and_its_booking_hides_the_title() -> None:
    meeting, booking = event_entities("fs", event(visibility="private"), now=NOW)
    assert meeting.visibility is Visibility.PRIVATE and meeting.confidential
    assert booking.confidential and booking.title is None


def test_cancelled_event_cancels_its_bookings() -> None:
    meeting, booking = event_entities("fs", event(status="cancelled"), now=NOW)
    assert meeting.status is MeetingStatus.CANCELLED
    assert booking.status is BookingStatus.CANCELLED


def test_series_expands_room_bookings_and_an_exception_replaces_its_occurrence() -> None:
    series = event_entities("fs", event(recurrence="FREQ=WEEKLY;COUNT=4"), now=NOW)
    meeting, bookings = series[0], series[1:]
    assert meeting.recurrence.rule == "FREQ=WEEKLY;COUNT=4" and meeting.recurrence.series_id.endswith("_0")
    assert [b.start for b in bookings] == [START + timedelta(weeks=i) for i in range(4)]
    second = int((START + timedelta(weeks=1)).timestamp())
    exception = event_entities("fs", event(
        event_id=f"d1a2b3c4-0000-4000-8000-000000000001_{second}", is_exception=True,
        recurring_event_id="d1a2b3c4-0000-4000-8000-000000000001_0",
        start_time={"timestamp": str(second + 3600), "timezone": "Asia/Shanghai"},
        end_time={"timestamp": str(second + 7200), "timezone": "Asia/Shanghai"}), now=NOW)
    moved_meeting, moved_booking = exception
    assert moved_meeting.recurrence.is_exception
    assert moved_meeting.recurrence.instance_start == START + timedelta(weeks=1)
    assert moved_booking.source.external_id == bookings[1].source.external_id  # same key: it replaces it
    assert moved_booking.start == START + timedelta(weeks=1, hours=1)


def test_endless_series_stops_at_the_horizon() -> None:
    series = event_entities("fs", event(recurrence="FREQ=DAILY"), now=NOW, horizon=timedelta(days=10))
    assert series[-1].start <= NOW + timedelta(days=10)
    assert len(series) - 1 == (NOW + timedelta(days=10) - START).days + 1


def test_all_day_event_is_utc() -> None:
    meeting, _ = event_entities("fs", event(start_time={"date": "2026-11-05"}, end_time={"date": "2026-11-06"}),
                                now=NOW)
    assert meeting.all_day and meeting.timezone == "UTC" and meeting.start == datetime(2026, 11, 5, tzinfo=UTC)


@pytest.mark.parametrize("broken", [
    {"event_id": ""}, {"start_time": {}}, {"start_time": {"timestamp": "soon"}},
    {"recurrence": "FREQ=SOMETIMES"},
])
def test_bad_events_raise_mapping_errors(broken: dict) -> None:
    with pytest.raises(MappingError):
        event_entities("fs", event(**broken), now=NOW)


def test_task_maps_members_due_and_completion() -> None:
    raw = {"guid": "7d3c9b2e-0000-4000-8000-0000000000aa", "summary": "确认会议室安排", "description": "for ENG",
           "due": {"timestamp": "1764547200000", "is_all_day": True}, "completed_at": "1764000000000",
           "status": "done", "creator": {"id": "ou_creator", "type": "user"},
           "members": [{"id": "ou_follow", "type": "user", "role": "follower"},
                       {"id": "ou_assignee", "type": "user", "role": "assignee"}],
           "tasklists": [{"tasklist_guid": "tl-1"}], "created_at": "1763000000000", "updated_at": "1764000000000",
           "url": "https://applink.feishu.cn/client/todo/detail?guid=x", "is_milestone": True, "task_id": "t100001"}
    task = task_entity("fs", raw, department="od-eng")
    assert isinstance(task, Task)
    assert task.status_category is StatusCategory.DONE and task.completed is not None
    assert task.assignee.external_id == "ou_assignee" and task.reporter.external_id == "ou_creator"
    assert task.due == date(2025, 12, 1) and task.is_milestone and task.department == "od-eng"
    assert task.source.version == "1764000000000"
    reopened = task_entity("fs", {**raw, "completed_at": "0", "status": "todo", "due": None})
    assert reopened.status_category is StatusCategory.TODO and reopened.completed is None and reopened.due is None


def _instance(status: str, form: list[dict]) -> dict:
    return {"instance_code": "81D31358-93AF-92D6-7425-01A5D67C4E71", "approval_code": "ROOM",
            "approval_name": "会议室预定申请", "serial_number": "202611001", "status": status,
            "start_time": "1764000000000", "end_time": "0" if status == "PENDING" else "1764003600000",
            "open_id": "ou_requester", "user_id": "fs00001", "department_id": "od-adm",
            "form": json.dumps(form, ensure_ascii=False),
            "task_list": [{"id": "1", "open_id": "ou_approver", "status": status}]}


ROOM_FORM = [
    {"id": "widget_room", "name": "会议室", "type": "input", "value": "omm_room1"},
    {"id": "widget_time", "name": "使用时间", "type": "dateInterval",
     "value": {"start": "2026-11-10T14:00:00+08:00", "end": "2026-11-10T16:00:00+08:00", "interval": 2.0}},
    {"id": "widget_reason", "name": "事由", "type": "textarea", "value": "客户来访"},
]


def test_room_request_approval_becomes_a_booking() -> None:
    spec = ApprovalSpec(code="ROOM", kind="booking", resource_field="会议室", time_field="widget_time")
    (pending,) = approval_entities("fs", _instance("PENDING", ROOM_FORM), spec)
    assert isinstance(pending, Booking)
    assert pending.source.external_id == "approval:81D31358-93AF-92D6-7425-01A5D67C4E71"
    assert pending.status is BookingStatus.REQUESTED and pending.resource_id == "omm_room1"
    assert pending.start == datetime(2026, 11, 10, 6, tzinfo=UTC) and pending.reason == "事由: 客户来访"
    (approved,) = approval_entities("fs", _instance("APPROVED", ROOM_FORM), spec)
    assert approved.status is BookingStatus.CONFIRMED
    (rejected,) = approval_entities("fs", _instance("REJECTED", ROOM_FORM), spec)
    assert rejected.status is BookingStatus.DECLINED


def test_cross_department_request_becomes_a_task_with_the_current_approver() -> None:
    form = [{"id": "w1", "name": "协作部门", "type": "input", "value": "财务部"}]
    (task,) = approval_entities("fs", _instance("PENDING", form), ApprovalSpec(code="X"))
    assert isinstance(task, Task)
    assert task.title == "会议室预定申请 #202611001" and task.status_category is StatusCategory.IN_PROGRESS
    assert task.assignee.external_id == "ou_approver" and task.reporter.external_id == "ou_requester"
    assert task.description == "协作部门: 财务部" and task.department == "od-adm"
    (deleted,) = approval_entities("fs", _instance("DELETED", form), ApprovalSpec(code="X"))
    assert deleted.deleted


def test_booking_approval_without_its_widgets_is_quarantined() -> None:
    spec = ApprovalSpec(code="ROOM", kind="booking", resource_field="会议室", time_field="使用时间")
    with pytest.raises(MappingError, match="会议室"):
        approval_entities("fs", _instance("PENDING", ROOM_FORM[2:]), spec)
    with pytest.raises(MappingError, match="not JSON"):
        approval_entities("fs", {**_instance("PENDING", []), "form": "{oops"}, spec)


def test_directory_records() -> None:
    dept = department_entity("fs", {"name": "研发部", "i18n_name": {"en_us": "Engineering"},
                                    "parent_department_id": "0", "department_id": "eng",
                                    "open_department_id": "od-eng", "leader_user_id": "ou_lead",
                                    "status": {"is_deleted": False}})
    assert dept.source.external_id == "od-eng" and dept.parent is None and dept.leader.external_id == "ou_lead"
    assert dept.extra["name_en"] == "Engineering"
    person = person_entity("fs", {"open_id": "ou_1", "union_id": "on_1", "user_id": "fs00001", "name": "王伟",
                                  "email": "wei.wang000@example.com", "mobile": "+86-13800000000",
                                  "employee_no": "E10000", "department_ids": ["od-eng"], "job_title": "工程师",
                                  "status": {"is_resigned": True}})
    assert (person.email, person.mobile, person.employee_id) == ("wei.wang000@example.com", "+86-13800000000",
                                                                 "E10000")
    assert person.extra == {"union_id": "on_1", "user_id": "fs00001"} and not person.active
    room = room_entity("fs", {"room_id": "omm_1", "name": "3F-C02 会议室", "capacity": 12,
                              "description": "Tower A 3F", "room_status": {"status": False}})
    assert room.capacity == 12 and room.location == "Tower A 3F" and room.extra["disabled"]
