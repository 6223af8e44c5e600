"""Each channel delivers through the real connector writers against their simulators.

For every built-in connector whose plugin and simulator are installed, and every neutral channel
(docs/plugins/channels.md) its writers offer, a rules cycle plans and dispatches a delivery; a
second cycle after a change updates the same remote object in place (same external id, one
Link), and nothing is parked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from collabhub.config import ConnectorEntry, HubConfig
from collabhub.config.sections import CoordinationOffice, DepartmentSpec
from collabhub.connector import Connector, ConnectorContext
from collabhub.model import Meeting, SourceRef, Task
from collabhub.plugins import PluginHost
from collabhub.rules import RulesEngine
from collabhub.store import Store
from collabhub.testing.company import TZ, Company, generate_company
from rules.helpers import put

pytestmark = pytest.mark.slow


@dataclass
class Case:
    vendor: str
    channel: str
    deliver: Callable[[Any, Company], dict[str, Any]]
    receiver: Callable[[Any, Company], dict[str, Any]]
    kind: str = "task"


def _sales_lead(company: Company) -> str:
    return company.members_of("sal")[0].email


def _dept(company: Company, **extra: Any) -> dict[str, Any]:
    return {"department": "sal", "email": _sales_lead(company), **extra}


def _jira_issue(sim: Any, company: Company) -> str:
    issues = getattr(getattr(sim, "data", None), "issues", {}) or {}
    return next(iter(sorted(i["key"] for i in issues.values())), "ENG-1")


def _room(company: Company, system: str) -> str:
    return next(r.email for r in company.rooms if r.system == system)


CASES = [
    Case("feishu", "card", lambda sim, c: {"channel": "card", "connector": "feishu"},
         lambda sim, c: _dept(c, chats={"feishu": sim.chat_for("sal")})),
    Case("feishu", "task",
         lambda sim, c: {"channel": "task", "connector": "feishu", "tasklist": sim.tasklist_for("sal")},
         lambda sim, c: _dept(c)),
    Case("jira", "task", lambda sim, c: {"channel": "task", "connector": "jira", "project": "SAL"},
         lambda sim, c: _dept(c)),
    Case("jira", "comment", lambda sim, c: {"channel": "comment", "connector": "jira", "issue": _jira_issue(sim, c)},
         lambda sim, c: _dept(c)),
    Case("m365", "event", lambda sim, c: {"channel": "event", "connector": "m365"}, lambda sim, c: _dept(c),
         kind="meeting"),
    Case("m365", "booking", lambda sim, c: {"channel": "booking", "connector": "m365", "room": _room(c, "m365")},
         lambda sim, c: _dept(c), kind="meeting"),
    Case("dingtalk", "card", lambda sim, c: {"channel": "card", "connector": "dingtalk"},
         lambda sim, c: _dept(c, chats={"dingtalk": "coordination"})),
    Case("dingtalk", "task", lambda sim, c: {"channel": "task", "connector": "dingtalk"}, lambda sim, c: _dept(c)),
    Case("dingtalk", "event", lambda sim, c: {"channel": "event", "connector": "dingtalk"}, lambda sim, c: _dept(c),
         kind="meeting"),
]


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost()


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company()


def _entity(kind: str, title: str, company: Company) -> Any:
    start = datetime.combine(company.start + timedelta(days=3), time(15, 0), TZ)
    if kind == "meeting":
        return Meeting(source=SourceRef(connector="hub-test", kind="meeting", external_id="m-1"), title=title,
                       start=start, end=start + timedelta(hours=1), timezone="Asia/Shanghai", department="eng",
                       updated=start - timedelta(days=1))
    return Task(source=SourceRef(connector="hub-test", kind="task", external_id="t-1"), title=title, department="eng",
                due=start.date(), updated=start - timedelta(days=1))


@pytest.fixture
def started(request: pytest.FixtureRequest, host: PluginHost, company: Company) -> Iterator[tuple[Any, Any]]:
    case: Case = request.param
    spec = host.simulators().get(f"{case.vendor}-demo")
    if spec is None:
        pytest.skip(f"the {case.vendor} plugin or its simulator is not installed")
    cls = host.connector_class(spec.connector_type)
    if case.channel not in {w.channel for w in cls.writer_classes}:
        pytest.skip(f"the {case.vendor} connector has no {case.channel!r} writer yet "
                    f"(it writes: {sorted(w.channel for w in cls.writer_classes)})")
    sim = spec.create(company)
    with sim:
        yield case, (sim, spec, cls)


def _config(case: Case, sim: Any, company: Company, cls: type[Connector], settings: dict[str, Any]) -> HubConfig:
    rule = {"name": f"{case.vendor}-{case.channel}", "provider": "eng", "lang": "zh",
            "receivers": [case.receiver(sim, company)], "what": {"kinds": [case.kind]},
            "fields": ["title", "due", "status_category", "url"],
            "deliver": [case.deliver(sim, company)]}
    if case.kind == "meeting":
        rule["fields"] = ["title", "start", "end"]
    entry = ConnectorEntry(case.vendor, cls.type, True, None, cls.Config.model_validate(settings))
    return HubConfig(connectors={case.vendor: entry},
                     departments=[DepartmentSpec(id=u.id, name=u.name_en) for u in company.departments],
                     coordination_office=CoordinationOffice(name="office"), sharing=[rule])


@pytest.mark.parametrize("started", CASES, indirect=True, ids=[f"{c.vendor}-{c.channel}" for c in CASES])
async def test_channel_delivers_and_updates_in_place(started, company, tmp_path):
    case, (sim, spec, cls) = started
    settings = spec.settings(sim)
    config = _config(case, sim, company, cls, settings)
    now = [datetime.combine(company.start, time(10, 0), TZ).astimezone(UTC)]
    if hasattr(sim, "clock"):  # simulators that check request timestamps share the test's clock
        sim.clock = lambda: now[0]
    store = Store(f"sqlite:///{tmp_path / 'hub.sqlite'}", clock=lambda: now[0])
    store.upgrade()
    connector = cls(case.vendor, config.connectors[case.vendor].config, ConnectorContext(clock=lambda: now[0]))
    engine = RulesEngine(config, store, clock=lambda: now[0])

    async def cycle() -> Any:
        planned = engine.plan()
        result = await engine.dispatch({case.vendor: connector})
        return planned, result

    try:
        put(store, _entity(case.kind, "跨部门协调：发布计划", company))
        planned, result = await cycle()
        assert planned.planned == 1, planned.as_dict()
        assert (result.sent, result.parked) == (1, 0), (result.as_dict(), [r.last_error for r in store.outbox_rows()])
        (first,) = store.deliveries()

        now[0] += timedelta(hours=1)
        put(store, _entity(case.kind, "跨部门协调：发布计划（修订）", company))
        planned, result = await cycle()
        assert (result.sent, result.parked) == (1, 0), (result.as_dict(), [r.last_error for r in store.outbox_rows()])
        second = store.deliveries()[0]
        links = store.links_for_receiver(case.vendor, case.channel, "department:sal")
        if connector.writers()[case.channel].edits_in_place:
            assert second.target_external_id == first.target_external_id  # edited in place
        else:  # the remote cannot edit: a new message, and the link follows it
            assert second.target_external_id != first.target_external_id
        assert len(links) == 1 and links[0].target_external_id == second.target_external_id
    finally:
        await connector.aclose()
        store.dispose()


async def test_feishu_digest_card_shows_the_digest_lines(host, company, tmp_path):
    spec = host.simulators().get("feishu-demo")
    if spec is None:
        pytest.skip("the feishu plugin or its simulator is not installed")
    cls = host.connector_class(spec.connector_type)
    case = CASES[0]
    with spec.create(company) as sim:
        config = _config(case, sim, company, cls, spec.settings(sim))
        now = datetime.combine(company.start, time(10, 0), TZ).astimezone(UTC)
        store = Store(f"sqlite:///{tmp_path / 'hub.sqlite'}", clock=lambda: now)
        store.upgrade()
        connector = cls("feishu", config.connectors["feishu"].config, ConnectorContext(clock=lambda: now))
        engine = RulesEngine(config, store, clock=lambda: now)
        try:
            put(store, _entity("task", "跨部门协调：发布计划", company))
            engine.plan()
            await engine.dispatch({"feishu": connector})
            (message,) = sim.messages_in(sim.chat_for("sal"))
            assert "跨部门协调：发布计划" in str(message)
        finally:
            await connector.aclose()
            store.dispose()
