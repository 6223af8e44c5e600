"""Seed the Feishu simulator from the sample company (the parts whose ``system`` is ``feishu``).

Every person and department exists (the directory is the org chart); calendars hold the
company's Feishu meetings (organizer's, attendees', rooms' and the project's shared calendar);
each weekly series gets one moved occurrence (an exception); rooms, tasklists per department,
tasks, approval instances (room requests that hold a room, cross-department requests) and one
group chat per department and project complete the tenant.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from collabhub.testing.company import Company, MeetingSpec
from collabhub.testing.sims.feishu.state import FeishuState

__all__ = ["ROOM_APPROVAL", "XDEPT_APPROVAL", "seed_company"]

ROOM_APPROVAL = "7C468A54-8745-2245-9675-08B7C63E7A85"
XDEPT_APPROVAL = "0B2F1E3D-4C5A-4E6B-8F70-19A2B3C4D5E6"
TZ = "Asia/Shanghai"
INLINE_ATTENDEES = 10


def _h(*parts: object, n: int = 32) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:n]


def _uuid(*parts: object) -> str:
    return str(uuid.UUID(hex=_h(*parts)))


def _sec(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def seed_company(state: FeishuState, company: Company, *, now: datetime) -> None:
    """Fill ``state`` from ``company``; ``now`` anchors approval instance times."""
    seed = company.seed
    _seed_directory(state, company)
    _seed_rooms(state, company, seed)
    _seed_calendars(state, company, seed)
    for spec in company.meetings_in("feishu"):
        _seed_meeting(state, company, spec, seed)
    for spec in _project_series(company, state):
        _seed_meeting(state, company, spec, seed)
    _seed_tasks(state, company, seed)
    _seed_approvals(state, company, seed, now)
    _seed_chats(state, company, seed)


def _seed_directory(state: FeishuState, company: Company) -> None:
    for order, unit in enumerate(company.departments):
        leader = company.person(unit.leader).feishu_open_id if unit.leader else None
        members = company.members_of(unit.id)
        dept = {"name": unit.name, "i18n_name": {"zh_cn": unit.name, "en_us": unit.name_en, "ja_jp": ""},
                "parent_department_id": "0", "department_id": unit.id, "open_department_id": unit.feishu_id,
                "leader_user_id": leader, "chat_id": f"oc_{_h('dept-chat', unit.id)}", "order": str(order * 1000),
                "member_count": len(members), "status": {"is_deleted": False}}
        state.departments.append(dept)
        state.department_by_id[unit.feishu_id] = dept
        state.department_by_id[unit.id] = dept
    for person in company.people:
        dept = next(d for d in company.departments if d.id == person.department)
        user = {"union_id": person.feishu_union_id, "user_id": person.feishu_user_id, "open_id": person.feishu_open_id,
                "name": person.name, "en_name": person.name_en, "nickname": "", "email": person.email,
                "enterprise_email": "", "mobile": person.mobile, "mobile_visible": True,
                "status": {"is_frozen": False, "is_resigned": False, "is_activated": True, "is_exited": False,
                           "is_unjoin": False},
                "department_ids": [dept.feishu_id], "leader_user_id": "", "city": "Shanghai", "country": "CN",
                "employee_no": person.employee_id, "employee_type": 1, "job_title": person.title,
                "is_tenant_manager": False}
        state.users[person.feishu_open_id] = user
        state.users_by_department.setdefault(dept.feishu_id, []).append(person.feishu_open_id)


def _seed_rooms(state: FeishuState, company: Company, seed: int) -> None:
    root_level = f"omb_{_h(seed, 'level-root')}"
    for index, room in enumerate(company.rooms_in("feishu")):
        room_id = f"omm_{_h(seed, 'room', room.id)}"
        level = f"omb_{_h(seed, 'level', room.building)}"
        item = {"room_id": room_id, "name": room.name, "capacity": room.capacity,
                "description": f"{room.building} {room.floor}F", "display_id": f"FM{100000 + index}",
                "custom_room_id": room.id, "room_level_id": level, "path": [root_level, level],
                "room_status": {"status": True, "schedule_status": True}, "device": [{"name": "电视"}]}
        state.rooms.append(item)
        state.room_by_id[room_id] = item
        state.room_by_id[room.id] = item
        calendar_id = f"feishu.cn_{_h(seed, 'room-cal', room.id, n=22)}@resource.calendar.feishu.cn"
        state.room_calendar[room_id] = calendar_id
        state.calendars[calendar_id] = {"calendar_id": calendar_id, "summary": room.name, "description": "",
                                        "permissions": "show_only_free_busy", "color": -1, "type": "resource",
                                        "summary_alias": "", "is_deleted": False, "is_third_party": False,
                                        "role": "reader"}
        state.app_calendar_ids.append(calendar_id)


def _seed_calendars(state: FeishuState, company: Company, seed: int) -> None:
    for person in company.people:
        calendar_id = f"feishu.cn_{_h(seed, 'primary', person.id, n=22)}@group.calendar.feishu.cn"
        state.primary_of[person.feishu_open_id] = calendar_id
        state.calendars[calendar_id] = {"calendar_id": calendar_id, "summary": person.name, "description": "",
                                        "permissions": "private", "color": -1, "type": "primary",
                                        "summary_alias": "", "is_deleted": False, "is_third_party": False,
                                        "role": "reader"}
    for project in company.projects:
        calendar_id = f"feishu.cn_{_h(seed, 'shared', project.id, n=22)}@group.calendar.feishu.cn"
        state.calendars[calendar_id] = {"calendar_id": calendar_id, "summary": f"{project.name} 项目日历",
                                        "description": project.key, "permissions": "public", "color": -1,
                                        "type": "shared", "summary_alias": "", "is_deleted": False,
                                        "is_third_party": False, "role": "writer"}
        state.app_calendar_ids.append(calendar_id)


def _project_series(company: Company, state: FeishuState) -> list[MeetingSpec]:
    """A weekly project meeting per project (the sample company keeps its series in other tools)."""
    rooms = [r["custom_room_id"] for r in state.rooms]
    series = []
    for index, project in enumerate(company.projects):
        start = datetime.combine(company.start + timedelta(days=index % 5), datetime.min.time(), UTC) + timedelta(
            hours=7)  # 15:00 Asia/Shanghai
        series.append(MeetingSpec(
            id=f"feishu-weekly-{project.id}", title=f"{project.name} 项目周会", organizer=project.lead,
            attendees=[m for m in project.members if m != project.lead], start=start, end=start + timedelta(hours=1),
            system="feishu", rooms=[rooms[index % len(rooms)]] if rooms else [], recurrence="FREQ=WEEKLY;COUNT=8",
            occurrences=8, online=True, body="进度、风险、需要协调的事项", project=project.id))
    return series


def _attendee_user(company: Company, pid: str, organizer: str) -> dict[str, Any]:
    person = company.person(pid)
    return {"type": "user", "attendee_id": f"user_{_h('att', pid, n=16)}",
            "rsvp_status": "accept" if pid == organizer else "needs_action", "is_optional": False,
            "is_organizer": pid == organizer, "is_external": False, "display_name": person.name,
            "user_id": person.feishu_open_id}


def _seed_meeting(state: FeishuState, company: Company, spec: MeetingSpec, seed: int) -> None:
    organizer = company.person(spec.organizer)
    uid = _uuid(seed, "event", spec.id)
    organizer_calendar = state.primary_of[organizer.feishu_open_id]
    attendees = [_attendee_user(company, pid, spec.organizer) for pid in [spec.organizer, *spec.attendees]]
    calendars = {organizer_calendar} | {state.primary_of[company.person(p).feishu_open_id] for p in spec.attendees}
    room_names = []
    for room_key in spec.rooms:
        room = state.room_by_id[room_key]
        room_names.append(room["name"])
        attendees.append({"type": "resource", "attendee_id": f"resource_{_h('res', room_key, n=16)}",
                          "rsvp_status": "accept", "is_optional": False, "is_organizer": False, "is_external": False,
                          "display_name": room["name"], "room_id": room["room_id"]})
        calendars.add(state.room_calendar[room["room_id"]])
    if spec.project:
        calendars |= {c for c, cal in state.calendars.items() if cal["type"] == "shared"
                      and cal["description"] == next(p.key for p in company.projects if p.id == spec.project)}
    base = {
        "organizer_calendar_id": organizer_calendar, "summary": spec.title, "description": spec.body,
        "vchat": {"vc_type": "vc", "meeting_url": f"https://vc.feishu.cn/j/{_h(seed, 'vc', spec.id, n=9)}"}
        if spec.online else {"vc_type": "no_meeting"},
        "visibility": "private" if spec.visibility == "private" else "default",
        "attendee_ability": "can_see_others", "free_busy_status": "busy",
        "location": {"name": room_names[0]} if room_names else None, "color": -1, "reminders": [{"minutes": 5}],
        "status": "confirmed", "create_time": _sec(spec.start - timedelta(days=7)),
        "event_organizer": {"user_id": organizer.feishu_open_id, "display_name": organizer.name},
        "app_link": f"https://applink.feishu.cn/client/calendar/event/detail?key={uid}",
        "attendees": attendees[:INLINE_ATTENDEES], "has_more_attendee": len(attendees) > INLINE_ATTENDEES,
        "_all_attendees": attendees,
    }
    instances = spec.instances()
    master = {**base, "event_id": f"{uid}_0", "start_time": {"timestamp": _sec(spec.start), "timezone": TZ},
              "end_time": {"timestamp": _sec(spec.end), "timezone": TZ}, "recurrence": spec.recurrence or "",
              "is_exception": False, "recurring_event_id": ""}
    state.put_event(master, calendars, int(instances[-1][1].timestamp()))
    if spec.recurrence and len(instances) > 2:  # the second occurrence moved an hour, the third cancelled
        for number, (moved, status) in ((1, (timedelta(hours=1), "confirmed")), (2, (timedelta(0), "cancelled"))):
            original, original_end = instances[number]
            exception = {**base, "event_id": f"{uid}_{_sec(original)}", "recurrence": "", "is_exception": True,
                         "recurring_event_id": f"{uid}_0", "status": status,
                         "start_time": {"timestamp": _sec(original + moved), "timezone": TZ},
                         "end_time": {"timestamp": _sec(original_end + moved), "timezone": TZ}}
            state.put_event(exception, calendars, int((original_end + moved).timestamp()))


def _seed_tasks(state: FeishuState, company: Company, seed: int) -> None:
    by_department: dict[str, str] = {}
    for unit in company.departments:
        guid = _uuid(seed, "tasklist", unit.id)
        leader = company.person(unit.leader).feishu_open_id if unit.leader else None
        state.tasklists.append({"guid": guid, "name": f"{unit.name} 任务", "creator": {"id": leader, "type": "user"},
                                "owner": {"id": leader, "type": "user", "role": "owner"}, "members": [],
                                "url": f"https://applink.feishu.cn/client/todo/task_list?guid={guid}",
                                "created_at": _ms(datetime.combine(company.start, datetime.min.time(), UTC)),
                                "updated_at": _ms(datetime.combine(company.start, datetime.min.time(), UTC)),
                                "archive_msec": "0", "_department": unit.id})
        state.tasklist_tasks[guid] = []
        by_department[unit.id] = guid
    for number, item in enumerate(company.tasks_in("feishu")):
        guid = _uuid(seed, "task", item.id)
        tasklist = by_department[item.department]
        done = item.status_category == "done"
        members = []
        if item.assignee:
            assignee = company.person(item.assignee)
            members.append({"id": assignee.feishu_open_id, "type": "user", "role": "assignee", "name": assignee.name})
        due = None
        if item.due:
            due = {"timestamp": _ms(datetime.combine(item.due, datetime.min.time(), UTC)), "is_all_day": True}
        state.tasks[guid] = {
            "guid": guid, "summary": item.title, "description": item.description, "due": due, "start": None,
            "reminders": [], "creator": {"id": company.person(item.reporter).feishu_open_id, "type": "user"},
            "members": members, "completed_at": _ms(item.updated) if done else "0",
            "status": "done" if done else "todo", "custom_fields": [], "tasklists": [{"tasklist_guid": tasklist}],
            "repeat_rule": "", "parent_task_guid": "", "is_milestone": item.is_milestone,
            "created_at": _ms(item.created), "updated_at": _ms(item.updated),
            "url": f"https://applink.feishu.cn/client/todo/detail?guid={guid}", "task_id": f"t{100000 + number}",
            "subtask_count": 0, "mode": 2,
        }
        state.tasklist_tasks[tasklist].append(guid)


def _form(*widgets: tuple[str, str, str, Any]) -> str:
    return json.dumps([{"id": i, "name": n, "type": t, "value": v} for i, n, t, v in widgets], ensure_ascii=False)


def _seed_approvals(state: FeishuState, company: Company, seed: int, now: datetime) -> None:
    state.approvals[ROOM_APPROVAL] = {"approval_name": "会议室预定申请", "status": "ACTIVE",
                                      "form": _form(("widget_room", "会议室", "input", ""),
                                                    ("widget_time", "使用时间", "dateInterval", None))}
    state.approvals[XDEPT_APPROVAL] = {"approval_name": "跨部门协作申请", "status": "ACTIVE", "form": "[]"}
    people = company.people
    rooms = [r for r in state.rooms]
    serial = 0
    statuses = ("APPROVED", "PENDING", "REJECTED")
    for index, room in enumerate(rooms * 2):
        serial += 1
        requester = people[(index * 7) % len(people)]
        approver = company.person(next(u.leader for u in company.departments if u.id == "adm") or people[0].id)
        status = statuses[index % len(statuses)]
        started = now - timedelta(hours=2 * index + 3)
        day = company.start + timedelta(days=index % 20)
        use = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=6)
        form = _form(("widget_room", "会议室", "input", room["room_id"]),
                     ("widget_time", "使用时间", "dateInterval",
                      {"start": use.isoformat(), "end": (use + timedelta(hours=2)).isoformat(), "interval": 2.0}),
                     ("widget_reason", "事由", "textarea", "客户来访 / customer visit"))
        _instance(state, seed, ROOM_APPROVAL, "会议室预定申请", serial, requester, approver, company, status,
                  started, form)
    for index, project in enumerate(company.projects * 2):
        serial += 1
        requester = company.person(project.lead)
        target = next(u for u in company.departments if u.id == project.departments[-1])
        approver = company.person(target.leader) if target.leader else people[0]
        status = ("PENDING", "APPROVED")[index % 2]
        started = now - timedelta(hours=3 * index + 1)
        form = _form(("widget_dept", "协作部门", "input", target.name),
                     ("widget_need", "需求说明", "textarea", f"{project.name}: 需要{target.name}支持"))
        _instance(state, seed, XDEPT_APPROVAL, "跨部门协作申请", serial, requester, approver, company, status,
                  started, form)


def _instance(state: FeishuState, seed: int, approval_code: str, name: str, serial: int, requester: Any,
              approver: Any, company: Company, status: str, started: datetime, form: str) -> None:
    code = _uuid(seed, "instance", approval_code, serial)
    ended = started + timedelta(minutes=30) if status != "PENDING" else None
    dept = next(u for u in company.departments if u.id == requester.department)
    state.put_instance({
        "instance_code": code, "approval_code": approval_code, "approval_name": name, "start_time": _ms(started),
        "end_time": _ms(ended) if ended else "0", "user_id": requester.feishu_user_id,
        "open_id": requester.feishu_open_id,
        "serial_number": f"{202611000 + serial}", "department_id": dept.feishu_id, "status": status,
        "uuid": _h(seed, "instance-uuid", code, n=8), "form": form, "reverted": False,
        "task_list": [{"id": _h(code, "task", n=16), "user_id": approver.feishu_user_id,
                       "open_id": approver.feishu_open_id, "status": "PENDING" if status == "PENDING" else status,
                       "node_id": _h(code, "node", n=16), "node_name": "审批", "type": "AND",
                       "start_time": _ms(started), "end_time": _ms(ended) if ended else "0"}],
        "comment_list": [],
        "timeline": [{"type": "START", "create_time": _ms(started), "user_id": requester.feishu_user_id,
                      "open_id": requester.feishu_open_id}],
    })


def _seed_chats(state: FeishuState, company: Company, seed: int) -> None:
    for unit in company.departments:
        chat_id = f"oc_{_h('dept-chat', unit.id)}"
        state.chats[chat_id] = {"chat_id": chat_id, "name": f"{unit.name} 群", "bot_member": True}
    for project in company.projects:
        chat_id = f"oc_{_h(seed, 'project-chat', project.id)}"
        state.chats[chat_id] = {"chat_id": chat_id, "name": f"{project.name} 项目群", "bot_member": True}
    state.chats[f"oc_{_h(seed, 'no-bot')}"] = {"chat_id": f"oc_{_h(seed, 'no-bot')}", "name": "无机器人的群",
                                               "bot_member": False}
