"""A deterministic sample company: departments, people, projects, tasks, rooms and meetings.

Every simulator seeds itself from the same :class:`Company`, so a person has the same email,
mobile and employee number in Jira, Microsoft 365, Feishu and DingTalk (with different ids per
system), which is what identity resolution joins on. The same seed gives the same company.

``generate_company(scale=1)`` is a small company (~40 people, ~200 tasks, ~10 rooms, a month of
meetings); ``scale`` multiplies people, tasks, rooms and meetings; ``tasks=`` sets the task count
directly (the Jira benchmark asks for 100,000).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "Company",
    "Employee",
    "MeetingSpec",
    "OrgUnit",
    "ProjectTeam",
    "RoomSpec",
    "WorkItem",
    "generate_company",
]

TZ = ZoneInfo("Asia/Shanghai")

_DEPARTMENTS = [
    ("eng", "研发部", "Engineering", "ENG"),
    ("ops", "运营部", "Operations", "OPS"),
    ("mkt", "市场部", "Marketing", "MKT"),
    ("fin", "财务部", "Finance", "FIN"),
    ("hr", "人力资源部", "Human Resources", "HR"),
    ("adm", "行政部", "Administration", "ADM"),
    ("qa", "质量部", "Quality", "QA"),
    ("sal", "销售部", "Sales", "SAL"),
]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_SURNAMES_PY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
                "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Gao", "Lin", "Luo"]
_GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰",
          "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "丹"]
_GIVEN_PY = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Yang", "Yong", "Yan", "Jie", "Juan", "Tao", "Ming",
             "Chao", "Xiuying", "Xia", "Ping", "Gang", "Guiying", "Dan"]
_ENGLISH = ["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Ivy", "Jack"]
_TITLES = ["工程师", "高级工程师", "经理", "专员", "主管", "分析师"]
_TASK_VERBS = ["Prepare", "Review", "Update", "Draft", "Confirm", "Publish", "Collect", "Schedule"]
_TASK_OBJECTS = ["monthly coordination minutes", "budget forecast", "release plan", "room allocation",
                 "supplier contract", "KPI report", "onboarding checklist", "campaign brief",
                 "quality audit", "equipment request", "milestone review", "risk register"]
_TASK_CN = ["准备月度协调会纪要", "审核预算", "更新发布计划", "确认会议室安排", "收集KPI数据", "起草项目周报"]
_MEETINGS = ["月度跨部门协调会", "Project sync", "周例会", "Design review", "预算评审", "1:1", "Milestone review",
             "客户沟通会", "Hiring panel", "资源协调"]
_STATUSES = [("To Do", "todo"), ("In Progress", "in_progress"), ("In Review", "in_progress"), ("Done", "done")]
_PRIORITIES = ["Highest", "High", "Medium", "Low"]
_LABELS = ["cross-dept", "coordination", "milestone", "budget", "action-item", "risk", "deliverable"]


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name: str
    name_en: str
    jira_key: str
    parent: str | None = None
    leader: str | None = None
    feishu_id: str = ""
    dingtalk_id: int = 0


@dataclass(frozen=True)
class Employee:
    id: str
    name: str
    name_en: str
    email: str
    mobile: str
    employee_id: str
    department: str
    title: str
    jira_account_id: str
    m365_id: str
    feishu_open_id: str
    feishu_union_id: str
    feishu_user_id: str
    dingtalk_userid: str
    dingtalk_union_id: str
    email_visible_in_jira: bool = True


@dataclass(frozen=True)
class ProjectTeam:
    id: str
    key: str
    name: str
    departments: tuple[str, ...]
    lead: str
    members: tuple[str, ...]
    start: date
    end: date


@dataclass
class WorkItem:
    """A task or action item; ``system`` says which tool holds it (jira, feishu, dingtalk)."""

    id: str
    key: str
    system: str
    project: str
    department: str
    title: str
    description: str
    status: str
    status_category: str
    assignee: str | None
    reporter: str
    priority: str
    labels: list[str]
    due: date | None
    created: datetime
    updated: datetime
    confidential: bool = False
    parent: str | None = None
    is_milestone: bool = False
    components: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RoomSpec:
    id: str
    name: str
    capacity: int
    building: str
    floor: int
    email: str
    system: str
    owner_department: str = "adm"


@dataclass
class MeetingSpec:
    """A meeting (a series when ``recurrence`` is set); ``system`` is where it lives."""

    id: str
    title: str
    organizer: str
    attendees: list[str]
    start: datetime
    end: datetime
    system: str
    rooms: list[str] = field(default_factory=list)
    recurrence: str | None = None  # RFC 5545 RRULE, e.g. "FREQ=WEEKLY;COUNT=4"
    occurrences: int = 1
    visibility: str = "normal"  # normal | private
    online: bool = False
    body: str = ""
    project: str | None = None

    def instances(self) -> list[tuple[datetime, datetime]]:
        """Start and end of each occurrence (weekly recurrences only, which is all we generate)."""
        step = timedelta(days=7)
        return [(self.start + i * step, self.end + i * step) for i in range(self.occurrences)]


@dataclass
class Company:
    departments: list[OrgUnit]
    people: list[Employee]
    projects: list[ProjectTeam]
    tasks: list[WorkItem]
    rooms: list[RoomSpec]
    meetings: list[MeetingSpec]
    start: date
    seed: int

    def person(self, pid: str) -> Employee:
        return self._people_by_id[pid]

    def __post_init__(self) -> None:
        self._people_by_id = {p.id: p for p in self.people}

    def tasks_in(self, system: str) -> Iterator[WorkItem]:
        return (t for t in self.tasks if t.system == system)

    def meetings_in(self, system: str) -> list[MeetingSpec]:
        return [m for m in self.meetings if m.system == system]

    def rooms_in(self, system: str) -> list[RoomSpec]:
        return [r for r in self.rooms if r.system == system]

    def members_of(self, department: str) -> list[Employee]:
        return [p for p in self.people if p.department == department]


def _hex(seed: int, *parts: object, n: int = 24) -> str:
    return hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).hexdigest()[:n]


def _uuid(seed: int, *parts: object) -> str:
    return str(uuid.UUID(hex=_hex(seed, *parts, n=32)))


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def generate_company(
    scale: int = 1,
    *,
    seed: int = 7,
    start: date | None = None,
    tasks: int | None = None,
    task_systems: tuple[str, ...] = ("jira", "feishu", "dingtalk"),
    meeting_systems: tuple[str, ...] = ("m365", "feishu", "dingtalk"),
) -> Company:
    """Build the sample company. Same arguments, same company, byte for byte."""
    rnd = random.Random(seed)
    scale = max(1, scale)
    start = _monday(start or date(2026, 11, 2))
    n_people = 40 * scale
    n_tasks = tasks if tasks is not None else 200 * scale
    n_rooms = 10 * scale

    units = []
    for i, (did, cn, en, key) in enumerate(_DEPARTMENTS):
        units.append(OrgUnit(did, cn, en, key, parent=None, feishu_id=f"od-{_hex(seed, 'dept', did, n=32)}",
                             dingtalk_id=100 + i))

    people: list[Employee] = []
    for i in range(n_people):
        dept = units[i % len(units)]
        s, g = rnd.randrange(len(_SURNAMES)), rnd.randrange(len(_GIVEN))
        name = _SURNAMES[s] + _GIVEN[g]
        first = _GIVEN_PY[g] if i % 5 else _ENGLISH[i // 5 % len(_ENGLISH)]
        name_en = f"{first} {_SURNAMES_PY[s]}"
        login = f"{_GIVEN_PY[g].lower()}.{_SURNAMES_PY[s].lower()}{i:03d}"
        pid = f"u{i:05d}"
        people.append(Employee(
            id=pid, name=name, name_en=name_en, email=f"{login}@example.com",
            mobile=f"+86-138{i:08d}", employee_id=f"E{10000 + i}", department=dept.id,
            title=rnd.choice(_TITLES),
            jira_account_id=f"5b10{_hex(seed, 'jira', pid, n=20)}",
            m365_id=_uuid(seed, "m365", pid),
            feishu_open_id=f"ou_{_hex(seed, 'fs-open', pid, n=32)}",
            feishu_union_id=f"on_{_hex(seed, 'fs-union', pid, n=32)}",
            feishu_user_id=f"fs{i:05d}",
            dingtalk_userid=f"dt{_hex(seed, 'dt-user', pid, n=12)}",
            dingtalk_union_id=_hex(seed, "dt-union", pid, n=26),
            email_visible_in_jira=(i % 7 != 3),
        ))
    leaders = {}
    for u in units:
        members = [p for p in people if p.department == u.id]
        if members:
            leaders[u.id] = members[0].id
    units = [OrgUnit(u.id, u.name, u.name_en, u.jira_key, u.parent, leaders.get(u.id), u.feishu_id,
                     u.dingtalk_id) for u in units]

    projects = []
    names = [("apollo", "APL", "Apollo 新品发布"), ("hermes", "HRM", "Hermes 渠道整合"),
             ("athena", "ATH", "Athena 数据平台"), ("vesta", "VST", "Vesta 办公搬迁")]
    for i in range(4 * scale):
        pid, key, name = names[i % len(names)]
        if i >= len(names):
            pid, key, name = f"{pid}{i}", f"{key}{i}", f"{name} {i}"
        depts = tuple(sorted(rnd.sample([u.id for u in units], 3)))
        members = tuple(sorted(p.id for p in rnd.sample([p for p in people if p.department in depts], 6)))
        projects.append(ProjectTeam(pid, key, name, depts, members[0], members, start, start + timedelta(days=90)))

    base = datetime.combine(start, time(9, 0), TZ)
    work: list[WorkItem] = []
    counters: dict[str, int] = {}
    for i in range(n_tasks):
        system = task_systems[i % len(task_systems)]
        dept = units[(i // len(task_systems)) % len(units)]
        project = projects[i % len(projects)] if i % 3 == 0 else None
        key_prefix = project.key if (project and system == "jira") else dept.jira_key
        counters[key_prefix] = counters.get(key_prefix, 0) + 1
        status, category = _STATUSES[rnd.randrange(len(_STATUSES))]
        created = base - timedelta(days=30) + timedelta(minutes=7 * i)
        updated = created + timedelta(minutes=rnd.randrange(1, 60 * 24 * 20))
        members = [p for p in people if p.department == dept.id]
        title = (rnd.choice(_TASK_CN) if i % 4 == 0 else
                 f"{rnd.choice(_TASK_VERBS)} {rnd.choice(_TASK_OBJECTS)}")
        work.append(WorkItem(
            id=str(10000 + i), key=f"{key_prefix}-{counters[key_prefix]}", system=system,
            project=project.id if project else "", department=dept.id, title=title,
            description=f"{title} ({dept.name_en})", status=status, status_category=category,
            assignee=rnd.choice(members).id if members and i % 11 else None,
            reporter=rnd.choice(people).id, priority=rnd.choice(_PRIORITIES),
            labels=sorted(set(rnd.sample(_LABELS, rnd.randrange(0, 3)))),
            due=(start + timedelta(days=rnd.randrange(-10, 40))) if i % 4 else None,
            created=created.astimezone(UTC), updated=updated.astimezone(UTC),
            confidential=(i % 29 == 5), is_milestone=(i % 23 == 0),
        ))

    rooms = []
    rsys = meeting_systems
    for i in range(n_rooms):
        system = rsys[i % len(rsys)]
        cap = rnd.choice([4, 6, 8, 12, 20, 40])
        rooms.append(RoomSpec(f"room{i:03d}", f"{(i % 5) + 1}F-{chr(65 + i % 26)}{i:02d} 会议室", cap,
                              "Tower A" if i % 2 else "Tower B", (i % 5) + 1,
                              f"room{i:03d}@example.com", system))

    meetings: list[MeetingSpec] = []
    n_meetings = 60 * scale
    for i in range(n_meetings):
        system = meeting_systems[i % len(meeting_systems)]
        organizer = people[rnd.randrange(len(people))]
        day = start + timedelta(days=rnd.randrange(0, 28))
        if day.weekday() >= 5:
            day -= timedelta(days=2)
        hour = rnd.choice([9, 10, 11, 14, 15, 16])
        begin = datetime.combine(day, time(hour, 0), TZ)
        length = timedelta(minutes=rnd.choice([30, 60, 90]))
        attendees = sorted({p.id for p in rnd.sample(people, rnd.randrange(2, 7))} - {organizer.id})
        sys_rooms = [r for r in rooms if r.system == system]
        room_ids = [rnd.choice(sys_rooms).id] if sys_rooms and i % 2 == 0 else []
        recurring = i % 6 == 0
        project = projects[i % len(projects)].id if i % 4 == 0 else None
        meetings.append(MeetingSpec(
            id=f"mtg{i:05d}", title=_MEETINGS[i % len(_MEETINGS)], organizer=organizer.id,
            attendees=attendees, start=begin.astimezone(UTC), end=(begin + length).astimezone(UTC),
            system=system, rooms=room_ids, recurrence="FREQ=WEEKLY;COUNT=4" if recurring else None,
            occurrences=4 if recurring else 1, visibility="private" if i % 13 == 7 else "normal",
            online=i % 3 == 0, body="议程：进度、风险、需要协调的事项" if i % 2 else "Agenda: status, risks, asks",
            project=project,
        ))
    return Company(units, people, projects, work, rooms, meetings, start, seed)
