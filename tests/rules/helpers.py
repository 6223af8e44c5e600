"""Test kit for the rules: a config builder, a movable clock, entities, and fake writers.

The fake connector's writers behave like a well-made real one: an object is keyed by the
delivery's idempotency key (a retry after a timeout finds it instead of making a second one),
and a delivery carrying a Link edits the linked object in place.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from collabhub.config import ConnectorEntry, HubConfig
from collabhub.config.sections import CoordinationOffice, DepartmentSpec, ProjectSpec
from collabhub.connector import CheckResult, Connector, ConnectorConfig, Delivery, DeliveryResult, Writer
from collabhub.model import Meeting, SourceRef, StatusCategory, Task, Visibility

T0 = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_config(sharing: list[dict[str, Any]], *, connectors: tuple[str, ...] = ("feishu", "jira", "m365"),
                office: bool = True) -> HubConfig:
    """A small company: eng, sales and ops, one cross-department project, an office."""
    entries = {
        name: ConnectorEntry(name=name, type="dingtalk" if name == "dingtalk" else name, enabled=True,
                             schedule=None, config=ConnectorConfig())
        for name in connectors
    }
    return HubConfig(
        connectors=entries,
        departments=[
            DepartmentSpec(id="eng", name="Engineering", owner="eng.lead@example.com"),
            DepartmentSpec(id="sales", name="Sales", owner="sales.lead@example.com"),
            DepartmentSpec(id="ops", name="Operations", owner="ops.lead@example.com"),
        ],
        projects=[ProjectSpec(id="apollo", name="Apollo", departments=["eng", "sales"],
                              lead="pm@example.com", chats={"feishu": "oc_apollo"}, jira_epic="APO-1")],
        coordination_office=CoordinationOffice(name="Coordination Office", email="office@example.com",
                                               chats={"feishu": "oc_office"}) if office else None,
        sharing=sharing,
        timezone="Asia/Shanghai",
    )


_ids = itertools.count(1)


def task(*, dept: str = "eng", title: str = "Release plan", confidential: bool = False, connector: str = "jira",
         external_id: str | None = None, due: date | None = None, status: StatusCategory = StatusCategory.TODO,
         updated: datetime | None = None, project: str | None = None, **extra: Any) -> Task:
    ext = external_id or f"T-{next(_ids)}"
    return Task(source=SourceRef(connector=connector, kind="task", external_id=ext, url=f"https://x/{ext}"),
                title=title, department=dept, confidential=confidential, due=due, status_category=status,
                updated=updated or T0, project=project, **extra)


def meeting(*, dept: str = "eng", title: str = "Design review", visibility: Visibility = Visibility.NORMAL,
            start: datetime | None = None, hours: float = 1, external_id: str | None = None,
            project: str | None = None, **extra: Any) -> Meeting:
    ext = external_id or f"M-{next(_ids)}"
    start = start or T0 + timedelta(days=1)
    return Meeting(source=SourceRef(connector="m365", kind="meeting", external_id=ext), title=title, start=start,
                   end=start + timedelta(hours=hours), department=dept, visibility=visibility,
                   confidential=visibility != Visibility.NORMAL, project=project, updated=T0, **extra)


def put(store: Any, *entities: Any) -> None:
    """Store entities as a pull would (grouped by connector)."""
    by_connector: dict[str, list[Any]] = {}
    for entity in entities:
        by_connector.setdefault(entity.source.connector, []).append(entity)
    for connector, items in by_connector.items():
        store.apply_page(connector=connector, stream="test", run_id=None, entities=items)


# -- fake writers ------------------------------------------------------------------------------


@dataclass
class Remote:
    """What the fake remote holds: objects by id, and every call made."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    calls: list[Delivery] = field(default_factory=list)
    fail_next: list[BaseException] = field(default_factory=list)
    fail_after_create: list[BaseException] = field(default_factory=list)

    def of(self, channel: str) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o["channel"] == channel]


class FakeWriter(Writer):
    channel: ClassVar[str] = ""

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        remote: Remote = self.connector.remote  # type: ignore[attr-defined]
        remote.calls.append(delivery)
        if remote.fail_next:
            raise remote.fail_next.pop(0)
        if delivery.link is not None and delivery.link.target_external_id in remote.objects:
            obj_id = delivery.link.target_external_id
            remote.objects[obj_id].update(content=dict(delivery.content), target=dict(delivery.target))
            remote.objects[obj_id]["edits"] += 1
        elif delivery.idempotency_key in remote.by_key:
            obj_id = remote.by_key[delivery.idempotency_key]
        else:
            obj_id = f"{self.channel}-{len(remote.objects) + 1}"
            remote.objects[obj_id] = {"channel": self.channel, "target": dict(delivery.target),
                                      "content": dict(delivery.content), "edits": 0, "connector": self.connector.name}
            remote.by_key[delivery.idempotency_key] = obj_id
            if remote.fail_after_create:
                raise remote.fail_after_create.pop(0)
        return DeliveryResult(external_id=obj_id, url=f"https://remote/{obj_id}")


def _writer(name: str) -> type[FakeWriter]:
    return type(f"Fake{name.title()}Writer", (FakeWriter,), {"channel": name})


class FakeConnector(Connector):
    type = "fake"
    writer_classes = tuple(_writer(c) for c in ("card", "task", "comment", "event", "booking"))

    def __init__(self, name: str, remote: Remote | None = None) -> None:
        super().__init__(name, ConnectorConfig())
        self.remote = remote or Remote()

    async def check(self) -> CheckResult:
        return CheckResult.passed("fake")


def fake_connectors(remote: Remote, *names: str) -> dict[str, Connector]:
    return {name: FakeConnector(name, remote) for name in (names or ("feishu", "jira", "m365"))}
