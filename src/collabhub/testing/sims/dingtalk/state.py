"""The DingTalk simulator's data, seeded from the sample company, in plain dicts with indexes.

Records are stored in the shapes the real APIs return (field names from the DingTalk docs and
SDK models). Every calendar change bumps a global sequence number; ``syncToken`` increments are
"events of this user changed after sequence N".
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from collabhub.testing.company import Company, MeetingSpec

__all__ = ["APPROVAL_GENERAL", "APPROVAL_ROOM", "TZ", "DingTalkState"]

TZ = ZoneInfo("Asia/Shanghai")
APPROVAL_GENERAL = "PROC-DT-GENERAL"
APPROVAL_ROOM = "PROC-DT-ROOM"
# The sample company's recurring meetings all live in other systems; DingTalk's weekly meetings
# ("周例会") are seeded as weekly series so the calendar has recurrences too.
WEEKLY_TITLE = "周例会"
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _hex(*parts: object, n: int = 20) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:n]


def iso_local(when: datetime) -> str:
    return when.astimezone(TZ).isoformat(timespec="seconds")


def iso_utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@dataclass
class DingTalkState:
    """Everything the simulator serves."""

    seed: int
    departments: dict[int, dict[str, Any]] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # userid -> record
    users_by_dept: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_union: dict[str, str] = field(default_factory=dict)  # unionid -> userid
    rooms: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_seq: dict[str, int] = field(default_factory=dict)
    user_events: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    room_events: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    client_tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    todos: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_todos: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    approvals: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {processCode, createMs, result}
    seq: int = 0
    counter: int = 0

    # -- ids and sequence ----------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{_hex(self.seed, prefix, self.counter)}"

    def touch_event(self, event_id: str) -> None:
        self.seq += 1
        self.event_seq[event_id] = self.seq

    # -- seeding -------------------------------------------------------------------------------

    @classmethod
    def from_company(cls, company: Company) -> DingTalkState:
        state = cls(seed=company.seed)
        state._seed_directory(company)
        state._seed_rooms(company)
        for spec in company.meetings_in("dingtalk"):
            state._seed_meeting(company, spec)
        state._seed_todos(company)
        state._seed_approvals(company)
        return state

    def _seed_directory(self, company: Company) -> None:
        self.departments[1] = {"dept_id": 1, "name": "示例公司", "parent_id": None}
        for unit in company.departments:
            self.departments[unit.dingtalk_id] = {"dept_id": unit.dingtalk_id, "name": unit.name, "parent_id": 1,
                                                  "create_dept_group": True, "auto_add_user": True}
            self.children[1].append(unit.dingtalk_id)
        dept_of = {u.id: u.dingtalk_id for u in company.departments}
        leaders = {u.leader for u in company.departments}
        hired = datetime(2020, 1, 6, tzinfo=UTC)
        for i, p in enumerate(company.people):
            dept = dept_of[p.department]
            self.users[p.dingtalk_userid] = {
                "userid": p.dingtalk_userid, "unionid": p.dingtalk_union_id, "name": p.name, "avatar": "",
                "state_code": "86", "mobile": p.mobile.split("-", 1)[-1], "hide_mobile": False, "telephone": "",
                "job_number": p.employee_id, "title": p.title, "email": p.email, "org_email": "",
                "work_place": "", "remark": "", "dept_id_list": [dept], "dept_order": 0,
                "extension": "{}", "hired_date": ms(hired + timedelta(days=7 * i)), "active": True, "admin": False,
                "boss": False, "leader": p.id in leaders, "exclusive_account": False,
            }
            self.users_by_dept[dept].append(p.dingtalk_userid)
            self.by_union[p.dingtalk_union_id] = p.dingtalk_userid

    def _seed_rooms(self, company: Company) -> None:
        for spec in company.rooms_in("dingtalk"):
            room_id = f"dtroom-{spec.id}"
            self.rooms[room_id] = {
                "roomId": room_id, "roomName": spec.name, "roomCapacity": spec.capacity, "roomStatus": 1,
                "roomLabels": [{"labelId": 1, "labelName": "投影"}] if spec.capacity >= 8 else [],
                "roomLocation": {"title": f"{spec.building} {spec.floor}F", "desc": ""},
                "roomGroup": {"groupId": 1 if spec.building == "Tower A" else 2, "groupName": spec.building},
                "isvRoomId": "",
            }

    def person(self, union_id: str) -> dict[str, Any] | None:
        userid = self.by_union.get(union_id)
        return self.users.get(userid) if userid else None

    def _seed_meeting(self, company: Company, spec: MeetingSpec) -> None:
        organizer = company.person(spec.organizer)
        created = spec.start - timedelta(days=10)
        event: dict[str, Any] = {
            "id": f"dtevt{_hex(self.seed, spec.id, n=24)}",
            "summary": spec.title,
            "description": spec.body,
            "start": {"dateTime": iso_local(spec.start), "timeZone": "Asia/Shanghai"},
            "end": {"dateTime": iso_local(spec.end), "timeZone": "Asia/Shanghai"},
            "isAllDay": False,
            "organizer": {"id": organizer.dingtalk_union_id, "displayName": organizer.name,
                          "responseStatus": "accepted"},
            "attendees": [
                {"id": company.person(a).dingtalk_union_id, "displayName": company.person(a).name,
                 "responseStatus": ("accepted", "tentative", "needsAction")[i % 3], "isOptional": i == 3}
                for i, a in enumerate(spec.attendees)],
            "location": {"displayName": ", ".join(self.rooms[f"dtroom-{r}"]["roomName"] for r in spec.rooms)
                         if spec.rooms else ("钉钉会议" if spec.online else "")},
            "meetingRooms": [{"roomId": f"dtroom-{r}", "responseStatus": "accepted",
                              "displayName": self.rooms[f"dtroom-{r}"]["roomName"]} for r in spec.rooms],
            "status": "confirmed",
            "createTime": iso_utc(created),
            "updateTime": iso_utc(created + timedelta(hours=2)),
            "reminders": [{"method": "dingtalk", "minutes": "15"}],
            "categories": [{"displayName": "private"}] if spec.visibility == "private" else [],
        }
        if spec.online:
            event["onlineMeetingInfo"] = {"type": "dingtalk", "conferenceId": _hex(self.seed, "conf", spec.id, n=10),
                                          "url": f"https://meeting.dingtalk.com/j/{_hex(self.seed, 'j', spec.id, n=8)}"}
        if spec.recurrence or spec.title == WEEKLY_TITLE:
            event["recurrence"] = {
                "pattern": {"type": "weekly", "interval": 1,
                            "daysOfWeek": _WEEKDAYS[spec.start.astimezone(TZ).weekday()]},
                "range": {"type": "numbered", "numberOfOccurrences": max(spec.occurrences, 4)},
            }
        self.add_event(event)

    def add_event(self, event: dict[str, Any]) -> None:
        event_id = event["id"]
        self.events[event_id] = event
        self.touch_event(event_id)
        self.index_event(event)

    def index_event(self, event: dict[str, Any]) -> None:
        event_id = event["id"]
        for person in [event.get("organizer") or {}, *(event.get("attendees") or [])]:
            if person.get("id"):
                self.user_events[person["id"]].add(event_id)
        for room in event.get("meetingRooms") or []:
            self.room_events[room["roomId"]].add(event_id)

    def _seed_todos(self, company: Company) -> None:
        for item in company.tasks_in("dingtalk"):
            task_id = f"dttask{_hex(self.seed, 'todo', item.id, n=16)}"
            reporter = company.person(item.reporter)
            assignee = company.person(item.assignee) if item.assignee else None
            done = item.status_category == "done"
            due = datetime.combine(item.due, datetime.min.time(), TZ).replace(hour=18) if item.due else None
            todo = {
                "id": task_id, "subject": item.title, "description": item.description,
                "startTime": None, "dueTime": ms(due) if due else None,
                "finishTime": ms(item.updated) if done else None, "done": done,
                "executorIds": [assignee.dingtalk_union_id] if assignee else [],
                "participantIds": [], "creatorId": reporter.dingtalk_union_id, "modifierId": reporter.dingtalk_union_id,
                "createdTime": ms(item.created), "modifiedTime": ms(item.updated),
                "detailUrl": {"pcUrl": f"https://todo.dingtalk.com/detail/{task_id}",
                              "appUrl": f"dingtalk://todo/{task_id}"},
                "source": "", "sourceId": "", "bizTag": "", "priority": 20 if not item.is_milestone else 40,
                "isOnlyShowExecutor": False, "tenantId": "", "tenantType": "",
            }
            self.add_todo(todo)

    def add_todo(self, todo: dict[str, Any]) -> None:
        self.todos[todo["id"]] = todo
        for union_id in {todo.get("creatorId"), *(todo.get("executorIds") or []), *(todo.get("participantIds") or [])}:
            if union_id:
                self.user_todos[union_id].add(todo["id"])

    def _seed_approvals(self, company: Company) -> None:
        people = [p for p in company.people]
        statuses = [("RUNNING", ""), ("COMPLETED", "agree"), ("COMPLETED", "refuse"), ("TERMINATED", "")]
        rooms = sorted(self.rooms)
        base = datetime.combine(company.start, datetime.min.time(), TZ).replace(hour=10)
        n = 0
        for i, room_id in enumerate(rooms * 2):
            start = base + timedelta(days=i % 20, hours=i % 5)
            self._approval(APPROVAL_ROOM, people[(n * 7) % len(people)], people[(n * 7 + 3) % len(people)],
                           statuses[n % 4], start - timedelta(days=2), n,
                           title_suffix="提交的会议室预定",
                           form=[{"componentType": "TextField", "name": "会议室", "value": room_id,
                                  "id": "TextField-ROOM"},
                                 {"componentType": "DDDateRangeField", "name": "时间", "id": "DDDateRangeField-T",
                                  "value": json.dumps([start.strftime("%Y-%m-%d %H:%M"),
                                                       (start + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")])}])
            n += 1
        for j in range(max(4, len(company.projects) * 3)):
            project = company.projects[j % len(company.projects)]
            self._approval(APPROVAL_GENERAL, people[(n * 5) % len(people)], people[(n * 5 + 1) % len(people)],
                           statuses[n % 4], base + timedelta(days=j % 25), n, title_suffix="提交的通用审批",
                           form=[{"componentType": "TextField", "name": "事由", "id": "TextField-R",
                                  "value": f"{project.name} 资源协调"},
                                 {"componentType": "TextareaField", "name": "说明", "id": "TextareaField-D",
                                  "value": "跨部门协调所需资源"}])
            n += 1

    def _approval(self, code: str, originator: Any, approver: Any, status: tuple[str, str], created: datetime,
                  n: int, *, title_suffix: str, form: list[dict[str, Any]]) -> None:
        instance_id = f"dtproc{_hex(self.seed, 'proc', code, n, n=20)}"
        user = self.users[originator.dingtalk_userid]
        finished = created + timedelta(hours=6) if status[0] != "RUNNING" else None
        task_status = "RUNNING" if status[0] == "RUNNING" else "COMPLETED"
        self.approvals[instance_id] = {"processCode": code, "createMs": ms(created), "result": {
            "title": f"{originator.name}{title_suffix}", "createTime": iso_utc(created),
            "finishTime": iso_utc(finished) if finished else None,
            "originatorUserId": originator.dingtalk_userid, "originatorDeptId": str(user["dept_id_list"][0]),
            "originatorDeptName": self.departments[user["dept_id_list"][0]]["name"],
            "status": status[0], "result": status[1], "businessId": f"2026{n:08d}", "bizAction": "NONE",
            "approverUserIds": [approver.dingtalk_userid], "ccUserIds": [],
            "formComponentValues": form,
            "tasks": [{"taskId": 1000 + n, "userId": approver.dingtalk_userid, "status": task_status,
                       "result": {"agree": "AGREE", "refuse": "REFUSE"}.get(status[1], "NONE"),
                       "createTime": iso_utc(created), "finishTime": iso_utc(finished) if finished else None,
                       "activityId": "act-approve"}],
            "operationRecords": [{"userId": originator.dingtalk_userid, "date": iso_utc(created),
                                  "type": "START_PROCESS_INSTANCE", "result": "NONE"}],
        }}
