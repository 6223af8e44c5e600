"""Raw DingTalk records (field names from the API docs) -> unified entities."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from collabhub.errors import MappingError
from collabhub.model import Booking, BookingStatus, Meeting, MeetingStatus, StatusCategory, Task, Visibility
from collabhub_dingtalk import mapping
from collabhub_dingtalk.settings import ApprovalProcess

EVENT = {
    "id": "evt1",
    "summary": "周例会",
    "description": "议程",
    "start": {"dateTime": "2026-11-03T10:00:00+08:00", "timeZone": "Asia/Shanghai"},
    "end": {"dateTime": "2026-11-03T11:00:00+08:00", "timeZone": "Asia/Shanghai"},
    "isAllDay": False,
    "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": "tuesday"},
                   "range": {"type": "numbered", "numberOfOccurrences": 3}},
    "organizer": {"id": "u-org", "displayName": "王伟", "responseStatus": "accepted", "self": True},
    "attendees": [{"id": "u-a", "displayName": "李娜", "responseStatus": "tentative", "isOptional": True,
                   "self": False}],
    "location": {"displayName": "3F-A 会议室"},
    "meetingRooms": [{"roomId": "r1", "responseStatus": "accepted", "displayName": "3F-A"}],
    "status": "confirmed",
    "createTime": "2026-10-20T08:00:00Z",
    "updateTime": "2026-10-21T08:00:00Z",
    "categories": [{"displayName": "private"}],
}


def test_recurring_private_event_with_a_room() -> None:
    meeting, *bookings = mapping.event_entities("dt", "u-org", EVENT)
    assert isinstance(meeting, Meeting)
    assert meeting.start == datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    assert meeting.timezone == "Asia/Shanghai"
    assert meeting.recurrence is not None and meeting.recurrence.rule == "FREQ=WEEKLY;BYDAY=TU;COUNT=3"
    assert meeting.visibility is Visibility.PRIVATE and meeting.confidential
    assert meeting.organizer and meeting.organizer.external_id == "u-org"
    assert [a.response.value for a in meeting.attendees] == ["tentative"] and meeting.attendees[0].optional
    assert meeting.rooms == ["r1"]
    assert [b.start.day for b in bookings] == [3, 10, 17]
    assert all(isinstance(b, Booking) and b.status is BookingStatus.CONFIRMED and b.meeting_id == "evt1"
               for b in bookings)
    assert bookings[0].source.external_id == "r1:evt1:1793671200000"


def test_every_calendar_copy_maps_alike() -> None:
    other_view = json.loads(json.dumps(EVENT))
    other_view["organizer"]["self"] = False
    other_view["attendees"][0]["self"] = True
    assert mapping.event_entities("dt", "u-org", EVENT) == mapping.event_entities("dt", "u-a", other_view)


def test_cancelled_event_is_deleted_with_its_bookings() -> None:
    entities = mapping.event_entities("dt", "u-org", {**EVENT, "status": "cancelled", "recurrence": None})
    assert entities[0].deleted and entities[0].status is MeetingStatus.CANCELLED  # type: ignore[attr-defined]
    assert all(e.deleted for e in entities)


def test_exception_instance_points_to_its_series() -> None:
    instance = {**EVENT, "id": "evt1_inst", "recurrence": None, "seriesMasterId": "evt1",
                "originStart": {"dateTime": "2026-11-10T10:00:00+08:00"}}
    meeting = mapping.event_entities("dt", "u-org", instance)[0]
    assert meeting.recurrence and meeting.recurrence.series_id == "evt1" and meeting.recurrence.is_exception


def test_event_without_start_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="start"):
        mapping.event_entities("dt", "u", {"id": "x", "end": EVENT["end"]})


def test_schedule_items_give_the_same_booking_ids_as_events() -> None:
    info = {"roomId": "r1", "scheduleItems": [{
        "start": {"dateTime": "2026-11-10T10:00:00+08:00", "timeZone": "Asia/Shanghai"},
        "end": {"dateTime": "2026-11-10T11:00:00+08:00", "timeZone": "Asia/Shanghai"},
        "status": "BUSY", "eventId": "evt1", "organizer": {"id": "u-org", "displayName": "王伟"}}]}
    from_schedule = mapping.schedule_bookings("dt", info)[0]
    from_event = mapping.event_entities("dt", "u-org", EVENT)[2]
    assert from_schedule == from_event


def test_user_and_department() -> None:
    user = {"userid": "dt01", "unionid": "un01", "name": "王伟", "mobile": "13800000001", "state_code": "86",
            "job_number": "E10001", "email": "wei@example.com", "title": "经理", "dept_id_list": [101], "active": True}
    person = mapping.person("dt", user)
    assert person.source.external_id == "un01" and person.extra["userid"] == "dt01"
    assert person.mobile == "+86-13800000001" and person.employee_id == "E10001" and person.departments == ["101"]
    dept = mapping.department("dt", {"dept_id": 101, "name": "研发部", "parent_id": 1})
    assert dept.source.external_id == "101" and dept.parent is None


def test_todo_detail() -> None:
    task = mapping.todo_task("dt", {
        "id": "t1", "subject": "准备纪要", "description": "d", "done": True, "executorIds": ["un02", "un03"],
        "creatorId": "un01", "dueTime": 1764554400000, "createdTime": 1761955200000, "modifiedTime": 1762041600000,
        "finishTime": 1762041600000, "priority": 40, "detailUrl": {"pcUrl": "https://todo/t1"}})
    assert isinstance(task, Task) and task.status_category is StatusCategory.DONE
    assert task.assignee and task.assignee.external_id == "un02" and task.extra["executorIds"] == ["un03"]
    assert task.priority == "very urgent" and task.completed is not None and task.source.url == "https://todo/t1"


def _approval(status: str, result: str, form: list[dict[str, str]]) -> dict[str, object]:
    return {"processInstanceId": "p1", "processCode": "PROC-ROOM", "result": {
        "title": "王伟提交的会议室预定", "createTime": "2026-11-01T02:00Z", "finishTime": None,
        "originatorUserId": "dt01", "originatorDeptId": "101", "status": status, "result": result,
        "formComponentValues": form, "tasks": [{"userId": "dt02", "status": "RUNNING"}]}}


USERS = {"dt01": {"userid": "dt01", "unionid": "un01", "name": "王伟", "email": "wei@example.com"},
         "dt02": {"userid": "dt02", "unionid": "un02", "name": "李娜"}}


def test_room_approval_becomes_a_booking() -> None:
    form = [{"name": "会议室", "value": "r1"}, {"name": "时间", "value": '["2026-11-03 09:00","2026-11-03 10:00"]'}]
    process = ApprovalProcess(process_code="PROC-ROOM", kind="booking")
    booking = mapping.approval_entity("dt", _approval("RUNNING", "", form), process, USERS)
    assert isinstance(booking, Booking) and booking.status is BookingStatus.REQUESTED
    assert booking.start == datetime(2026, 11, 3, 1, 0, tzinfo=UTC) and booking.resource_id == "r1"
    assert booking.booked_by and booking.booked_by.email == "wei@example.com"
    done = mapping.approval_entity("dt", _approval("COMPLETED", "refuse", form), process, USERS)
    assert done.status is BookingStatus.DECLINED  # type: ignore[attr-defined]
    with pytest.raises(MappingError, match="会议室"):
        mapping.approval_entity("dt", _approval("RUNNING", "", []), process, USERS)


def test_general_approval_becomes_a_task_for_the_current_approver() -> None:
    process = ApprovalProcess(process_code="PROC-GEN", kind="task")
    task = mapping.approval_entity("dt", _approval("RUNNING", "", [{"name": "事由", "value": "资源"}]), process, USERS)
    assert isinstance(task, Task) and task.status_category is StatusCategory.IN_PROGRESS
    assert task.assignee and task.assignee.external_id == "un02" and task.department == "101"
