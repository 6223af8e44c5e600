"""Benchmark of the information-sharing rules. Run: ``python bench/rules/run.py [--scale 10]``.

Prints:

1. rule evaluation throughput: entity x rule checks per second (target >= 100,000/s), for the
   sample rule set (the `sharing:` rules of config/demo.yaml) and for a worst case where every rule's CEL
   filter runs on every entity;
2. the rules cycle of the sample company at ``--scale`` (default 10x): entities stored, then
   ``plan()`` + ``dispatch()`` through in-memory writers, timed;
3. a second cycle with no changes: it must send nothing and write no deliveries.

Figures are printed, never asserted against time; the no-change cycle is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from collabhub.config import ConnectorEntry, HubConfig
from collabhub.config.sections import CoordinationOffice, DepartmentSpec, ProjectSpec
from collabhub.connector import CheckResult, Connector, ConnectorConfig, Delivery, DeliveryResult, Writer
from collabhub.model import (
    Attendee,
    Booking,
    Meeting,
    PersonRef,
    SourceRef,
    StatusCategory,
    Task,
    Visibility,
)
from collabhub.rules import RulesEngine, RuleSet
from collabhub.rules.evaluate import Evaluator
from collabhub.store import Store
from collabhub.testing.company import TZ, Company, generate_company

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_RULES = ROOT / "config" / "demo.yaml"
CONNECTORS = ("jira", "m365", "feishu", "dingtalk")


# -- the sample company as unified entities -------------------------------------------------------


def company_entities(company: Company) -> list[Any]:
    people = {p.id: p for p in company.people}

    def ref(pid: str | None, system: str) -> PersonRef | None:
        if pid is None:
            return None
        p = people[pid]
        return PersonRef(connector=system, external_id=p.id, display_name=p.name, email=p.email)

    out: list[Any] = []
    for w in company.tasks:
        out.append(Task(
            source=SourceRef(connector=w.system, kind="task", external_id=w.key, url=f"https://{w.system}/{w.key}"),
            title=w.title, description=w.description, status=w.status,
            status_category=StatusCategory(w.status_category),
            assignee=ref(w.assignee, w.system), reporter=ref(w.reporter, w.system), labels=list(w.labels),
            priority=w.priority, due=w.due, created=w.created, updated=w.updated, confidential=w.confidential,
            is_milestone=w.is_milestone, department=w.department, project=w.project or None,
        ))
    for m in company.meetings:
        organizer = people[m.organizer]
        private = m.visibility != "normal"
        for i, (start, end) in enumerate(m.instances()):
            ext = f"{m.id}:{i}"
            out.append(Meeting(
                source=SourceRef(connector=m.system, kind="meeting", external_id=ext),
                title=m.title, organizer=ref(m.organizer, m.system), start=start, end=end, timezone="Asia/Shanghai",
                attendees=[Attendee(person=ref(a, m.system)) for a in m.attendees], rooms=list(m.rooms),
                visibility=Visibility.PRIVATE if private else Visibility.NORMAL, confidential=private,
                body=m.body or None, department=organizer.department, project=m.project,
                updated=start - timedelta(days=7),
            ))
            for room in m.rooms:
                out.append(Booking(
                    source=SourceRef(connector=m.system, kind="booking", external_id=f"{ext}:{room}"),
                    resource_id=room, start=start, end=end, booked_by=ref(m.organizer, m.system), meeting_id=ext,
                    title=m.title, confidential=private, department=organizer.department, project=m.project,
                ))
    return out


def company_config(company: Company, sharing: list[dict[str, Any]]) -> HubConfig:
    return HubConfig(
        connectors={n: ConnectorEntry(n, n, True, None, ConnectorConfig()) for n in CONNECTORS},
        departments=[DepartmentSpec(id=u.id, name=u.name_en, owner=company.person(u.leader).email if u.leader else None)
                     for u in company.departments],
        projects=[ProjectSpec(id=p.id, name=p.name, departments=list(p.departments), lead=company.person(p.lead).email,
                              chats={"feishu": f"oc_{p.id}"}, jira_epic=f"{p.key}-1") for p in company.projects],
        coordination_office=CoordinationOffice(name="协调办公室", email="office@example.com",
                                               chats={"feishu": "oc_office"}),
        sharing=sharing,
    )


# -- in-memory writers ------------------------------------------------------------------------------


class MemoryWriter(Writer):
    channel = ""

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        made: dict[str, str] = self.connector.made  # type: ignore[attr-defined]
        if delivery.link is not None:
            return DeliveryResult(delivery.link.target_external_id)
        obj = made.setdefault(delivery.idempotency_key, f"{self.channel}-{len(made) + 1}")
        return DeliveryResult(obj)


class MemoryConnector(Connector):
    type = "memory"
    writer_classes = tuple(type(f"Memory{c}", (MemoryWriter,), {"channel": c})
                           for c in ("card", "task", "comment", "event", "booking"))

    def __init__(self, name: str) -> None:
        super().__init__(name, ConnectorConfig())
        self.made: dict[str, str] = {}

    async def check(self) -> CheckResult:
        return CheckResult.passed()


# -- measurements -----------------------------------------------------------------------------------


def throughput(ruleset: RuleSet, entities: list[Any], now: datetime, *, rounds: int = 3) -> tuple[float, int, int]:
    """(entity x rule checks per second, best of ``rounds``; checks per pass; how many reach a CEL filter)."""
    best = 0.0
    cel_runs = sum(1 for e in entities for r in ruleset.rules if r.applies_to(e) and r.filter is not None)
    checks = 0
    for _ in range(rounds):
        evaluator = Evaluator(ruleset, now, TZ)
        started = time.perf_counter()
        for entity in entities:
            evaluator.matching_rules(entity)
        elapsed = time.perf_counter() - started
        checks = evaluator.checks
        best = max(best, checks / elapsed)
    return best, checks, cel_runs


def worst_case_rules(n: int = 10) -> list[dict[str, Any]]:
    filters = ['status_category != "done"', 'kind == "task" && ("milestone" in labels || is_milestone)',
               'due != null && due < now', 'priority == "High" || priority == "Highest"', 'size(title) > 10',
               'visibility == "normal"', 'start != null && start > now && start < now + duration("168h")',
               'kind == "task" && project != null', 'kind == "task" && "cross-dept" in labels',
               'title.contains("review")']
    return [{"name": f"worst{i}", "provider": ["eng", "ops", "mkt", "fin", "hr", "adm", "qa", "sal"],
             "receivers": [{"department": "adm", "chats": {"feishu": "oc_adm"}}],
             "what": {"kinds": ["task", "meeting"], "filter": filters[i % len(filters)]},
             "fields": ["title"], "deliver": [{"channel": "card"}]} for i in range(n)]


async def cycle(engine: RulesEngine, connectors: dict[str, Connector]) -> tuple[Any, Any, float, float]:
    started = time.perf_counter()
    planned = engine.plan()
    planned_at = time.perf_counter()
    dispatched = await engine.dispatch(connectors, limit=1_000_000)
    return planned, dispatched, planned_at - started, time.perf_counter() - planned_at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10, help="sample company scale (default 10)")
    args = parser.parse_args()

    company = generate_company(scale=args.scale)
    entities = company_entities(company)
    now = datetime.combine(company.start, dtime(10, 0), TZ).astimezone(UTC)
    sharing = YAML(typ="safe").load(SAMPLE_RULES.read_text(encoding="utf-8"))["sharing"]
    config = company_config(company, sharing)
    ruleset = RuleSet.from_config(config)
    kinds = {str(e.kind) for e in entities}
    print(f"sample company x{args.scale}: {len(entities)} entities ({', '.join(sorted(kinds))}), "
          f"{len(ruleset.rules)} sample rules")

    rate, checks, cel_runs = throughput(ruleset, entities, now)
    print(f"rule evaluation, sample rules: {rate:,.0f} entity x rule checks/s ({checks:,} checks per pass, "
          f"{cel_runs:,} of them run a CEL filter; the others stop at kind/provider)  target >= 100,000/s")
    worst = RuleSet.from_config(company_config(company, worst_case_rules()))
    rate, checks, cel_runs = throughput(worst, entities, now)
    print(f"rule evaluation, worst case (10 rules, each CEL filter runs on every task and meeting): "
          f"{rate:,.0f} checks/s ({checks:,} checks per pass, {cel_runs:,} CEL runs)")

    with tempfile.TemporaryDirectory() as tmp:
        clock_now = [now]
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", clock=lambda: clock_now[0])
        store.upgrade()
        started = time.perf_counter()
        by_connector: dict[str, list[Any]] = {}
        for entity in entities:
            by_connector.setdefault(entity.source.connector, []).append(entity)
        for connector, items in by_connector.items():
            for i in range(0, len(items), 500):
                store.apply_page(connector=connector, stream="bench", run_id=None, entities=items[i:i + 500])
        print(f"store: {len(entities)} entities written in {time.perf_counter() - started:.2f}s")

        engine = RulesEngine(config, store, clock=lambda: clock_now[0])
        connectors: dict[str, Connector] = {name: MemoryConnector(name) for name in CONNECTORS}
        planned, dispatched, t_plan, t_dispatch = asyncio.run(cycle(engine, connectors))
        counts = planned.as_dict()
        print(f"cycle 1: plan {t_plan:.2f}s + dispatch {t_dispatch:.2f}s = {t_plan + t_dispatch:.2f}s; "
              f"planned {counts['planned']} (items {counts['items']}, digests {counts['digests']}, reminders "
              f"{counts['reminders']}, escalations {counts['escalations']}, held over cap {counts['deferred']}); "
              f"sent {dispatched.sent}, parked {dispatched.parked}")

        deliveries_before = len(store.deliveries(limit=10_000_000))
        clock_now[0] = now + timedelta(minutes=15)
        planned, dispatched, t_plan, t_dispatch = asyncio.run(cycle(engine, connectors))
        deliveries_after = len(store.deliveries(limit=10_000_000))
        print(f"cycle 2 (no changes, 15 min later): plan {t_plan:.2f}s + dispatch {t_dispatch:.2f}s; "
              f"planned {planned.planned}, sent {dispatched.sent}, "
              f"new deliveries {deliveries_after - deliveries_before}")
        store.dispose()
        if planned.planned or dispatched.sent or deliveries_after != deliveries_before:
            print("FAIL: a cycle with no changes sent something")
            return 1
    print("ok: the second cycle sent nothing and wrote no deliveries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
