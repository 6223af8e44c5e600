"""Property: for random entities (confidential ones included) and random rule sets, no receiver ever
gets an entity or a field it is not allowed, through any path (per-item deliveries, digests,
freshness reminders and escalations, withdrawals), across two cycles.

Every text field of every entity holds a sentinel ``Z<n>Q<field path>Q``; whatever leaves the hub
(the content each writer was handed) is searched for sentinels, and each one found must be a
field some rule allows that receiver to see of that entity.

The run is derandomized (the same examples on every machine and in CI, no example database).
The strategies lean towards what lets one rule's view leak into another receiver's line: at
least two rules and two entities, one or two receivers per rule (so rules' audiences differ),
digests (``card``) in half the rules, allowlists often drawn from the fields lines show (title,
url, ...), and one entity in three confidential; with them the committed example count found
the stale-line leak pinned by the explicit examples below. Longer hunts: call
``test_...hypothesis.inner_test`` under a local ``@given`` with more examples and other seeds.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

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
from collabhub.rules import RulesEngine, is_confidential
from collabhub.rules.guard import allowed_field_paths
from collabhub.rules.items import meta_of, public_content
from collabhub.store import Store
from rules.helpers import T0, Clock, Remote, fake_connectors, make_config, put

SENTINEL = re.compile(r"Z(\d+)Q([a-z_.]+)Q")
DEPTS = ("eng", "sales", "ops")
RECEIVERS = {
    "department:sales": {"department": "sales", "chats": {"feishu": "oc_sales"}},
    "project:apollo": {"project": "apollo"},
    "office": "office",
    "person:alice@example.com": {"person": "alice@example.com", "chats": {"feishu": "oc_alice"}},
}
DELIVER = {
    "card": {"channel": "card"},
    "task": {"channel": "task", "connector": "jira", "project": "SAL"},
    "event": {"channel": "event", "connector": "m365"},
    "comment": {"channel": "comment", "connector": "jira", "issue": "APO-1"},
    "booking": {"channel": "booking", "connector": "m365", "room": "room@example.com"},
}
FILTERS = (None, "true", 'kind != ""', "!deleted")
SHOWN = ("title", "url", "name", "description", "body", "location", "assignee", "labels", "status", "reason")


def s(n: int, path: str) -> str:
    return f"Z{n}Q{path}Q"


def person(n: int, path: str) -> PersonRef:
    return PersonRef(connector="x", external_id=s(n, f"{path}.external_id"), display_name=s(n, f"{path}.display_name"),
                     email=s(n, f"{path}.email"), mobile=s(n, f"{path}.mobile"))


def build_entity(n: int, kind: str, dept: str, project: str | None, flag: bool, visibility: Visibility) -> Any:
    source = SourceRef(connector={"task": "jira", "meeting": "m365", "booking": "m365"}[kind], kind=kind,
                       external_id=f"E{n}", url=f"https://x/{s(n, 'url')}")
    common = {"source": source, "department": dept, "project": project, "confidential": flag,
              "extra": {"note": s(n, "extra")}, "updated": T0 - timedelta(days=20)}
    if kind == "task":
        return Task(**common, title=s(n, "title"), description=s(n, "description"), status=s(n, "status"),
                    assignee=person(n, "assignee"), reporter=person(n, "reporter"), labels=[s(n, "labels")],
                    priority=s(n, "priority"), due=date(2024, 5, 1), parent=s(n, "parent"), origin=s(n, "origin"),
                    components=[s(n, "components")], status_category=StatusCategory.IN_PROGRESS)
    start = T0 + timedelta(days=1, hours=n)
    if kind == "meeting":
        return Meeting(**common, title=s(n, "title"), organizer=person(n, "organizer"),
                       attendees=[Attendee(person=person(n, "attendees.person"))], start=start,
                       end=start + timedelta(hours=1), location=s(n, "location"), rooms=[s(n, "rooms")],
                       visibility=visibility, online_url=s(n, "online_url"), body=s(n, "body"))
    common.pop("updated")
    return Booking(**common, resource_id=s(n, "resource_id"), start=start, end=start + timedelta(hours=1),
                   booked_by=person(n, "booked_by"), meeting_id=s(n, "meeting_id"), reason=s(n, "reason"),
                   title=s(n, "title"))


entity_specs = st.lists(
    st.tuples(st.sampled_from(["task", "meeting", "booking"]), st.sampled_from(DEPTS),
              st.sampled_from([None, "apollo"]), st.sampled_from([False, False, True]),
              st.sampled_from([Visibility.NORMAL, *Visibility])),
    min_size=2, max_size=6)


@st.composite
def rule_specs(draw: Any, index: int) -> dict[str, Any]:
    kinds = draw(st.lists(st.sampled_from(["task", "meeting", "booking"]), min_size=1, max_size=3, unique=True))
    paths = sorted(set().union(*(allowed_field_paths(k) for k in kinds)))
    shown = [p for p in SHOWN if p in paths]
    rule: dict[str, Any] = {
        "name": f"r{index}",
        "provider": draw(st.lists(st.sampled_from(DEPTS), min_size=1, max_size=3, unique=True)),
        "receivers": [RECEIVERS[k] for k in draw(st.lists(st.sampled_from(sorted(RECEIVERS)), min_size=1,
                                                          max_size=2, unique=True))],
        "what": {"kinds": kinds, "filter": draw(st.sampled_from(FILTERS))},
        "fields": draw(st.lists(st.sampled_from(paths), min_size=1, max_size=8, unique=True)
                       | st.lists(st.sampled_from(shown), min_size=1, max_size=3, unique=True)),
        "deliver": [DELIVER[d] for d in draw(st.lists(st.sampled_from(sorted(DELIVER)), min_size=1, max_size=4,
                                                       unique=True).map(sorted)
                                              | st.lists(st.sampled_from(sorted(DELIVER)), max_size=2, unique=True)
                                              .map(lambda ds: sorted({"card", *ds})))],
        "provider_chats": {"feishu": "oc_provider"},
    }
    if draw(st.booleans()):
        rule["allow_confidential"] = {"reason": "the board asked for it"}
    if draw(st.booleans()):
        rule["freshness"] = {"max_age_days": 1, "escalate_after_days": 1}
    if draw(st.booleans()) and any(d["channel"] == "card" for d in rule["deliver"]):
        rule["ack"] = {"deadline_hours": 1}
    return rule


rule_sets = st.integers(2, 3).flatmap(lambda n: st.tuples(*(rule_specs(i) for i in range(n))))


def allowed_map(rules: list[dict[str, Any]], entities: list[Any]) -> tuple[dict, set]:
    """(recipient, n) -> allowed field paths; and the (recipient, n) pairs that may see entity n at all."""
    allowed: dict[tuple[str, int], set[str]] = {}
    present: set[tuple[str, int]] = set()
    for rule in rules:
        reason = (rule.get("allow_confidential") or {}).get("reason")
        recipients = [_key(r) for r in rule["receivers"]]
        if rule.get("freshness") or rule.get("ack"):
            recipients += ["provider:" + ",".join(rule["provider"]), "office"]
        for n, entity in enumerate(entities):
            if str(entity.kind) not in rule["what"]["kinds"] or entity.department not in rule["provider"]:
                continue
            if is_confidential(entity) and not reason:
                if str(entity.kind) == "task":
                    continue
                paths: set[str] = set()  # free/busy: start, end, show_as carry no sentinel
            else:
                paths = set(rule["fields"])
            for recipient in recipients:
                allowed.setdefault((recipient, n), set()).update(paths)
                present.add((recipient, n))
    return allowed, present


def _key(receiver: Any) -> str:
    if receiver == "office":
        return "office"
    if "department" in receiver:
        return f"department:{receiver['department']}"
    if "project" in receiver:
        return f"project:{receiver['project']}"
    return f"person:{receiver['person']}"


def check_rows(rows: list[Any], allowed: dict, present: set, by_key: dict[tuple, int]) -> None:
    for row in rows:
        content = public_content(row.content)
        text = json.dumps(content, ensure_ascii=False)
        for n_text, path in SENTINEL.findall(text):
            n = int(n_text)
            ok = allowed.get((row.receiver, n), set())
            parts = path.split(".")
            assert any(".".join(parts[:i]) in ok for i in range(1, len(parts) + 1)), (
                f"{row.receiver} got field {path} of entity {n} (allowed: {sorted(ok)}) via {row.channel}")
        n = by_key.get((row.entity_connector, row.entity_kind, row.entity_external_id))
        if n is not None and meta_of(row.content).get("kind") != "withdrawal":
            assert (row.receiver, n) in present, f"{row.receiver} got entity {n} it may not see ({row.channel})"


NORMAL = Visibility.NORMAL
# Regression: r1 (freshness, allows the title) shares meeting 5 with sales only; alice's digest
# (r0 allows all_day only) listed it as stale with r1's view, title included.
LEAK_STALE_VIEW = {
    "specs": [("task", "eng", None, False, NORMAL)] * 5 + [("meeting", "eng", None, False, NORMAL)],
    "rules": ({"name": "r0", "provider": ["eng"],
               "receivers": [RECEIVERS["department:sales"], "office", RECEIVERS["person:alice@example.com"]],
               "what": {"kinds": ["task", "meeting"], "filter": None}, "fields": ["all_day"],
               "deliver": [DELIVER["card"]], "provider_chats": {"feishu": "oc_provider"}},
              {"name": "r1", "provider": ["eng"], "receivers": [RECEIVERS["department:sales"]],
               "what": {"kinds": ["meeting"], "filter": None},
               "fields": ["all_day", "attendees", "attendees.optional", "attendees.person", "title"],
               "deliver": [DELIVER["booking"]], "provider_chats": {"feishu": "oc_provider"},
               "freshness": {"max_age_days": 1, "escalate_after_days": 1}}),
    "flip": [],
}
# The same across the confidential guard: r1 lifts it with a reason and asks for freshness; to
# alice (r0, no reason) the private meeting is free/busy only, yet its stale line showed r1's title.
LEAK_CONFIDENTIAL_STALE = {
    "specs": [("task", "eng", None, False, NORMAL), ("meeting", "eng", None, True, Visibility.PRIVATE)],
    "rules": ({"name": "r0", "provider": ["eng"], "receivers": [RECEIVERS["person:alice@example.com"]],
               "what": {"kinds": ["task", "meeting"], "filter": None}, "fields": ["title", "url"],
               "deliver": [DELIVER["card"]], "provider_chats": {"feishu": "oc_provider"}},
              {"name": "r1", "provider": ["eng", "sales"], "receivers": [RECEIVERS["department:sales"]],
               "what": {"kinds": ["meeting"], "filter": None}, "fields": ["title"],
               "deliver": [DELIVER["event"]], "provider_chats": {"feishu": "oc_provider"},
               "allow_confidential": {"reason": "the board asked for it"},
               "freshness": {"max_age_days": 1, "escalate_after_days": 1}}),
    "flip": [],
}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated store file each example starts from a copy of (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "hub.sqlite"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    store.dispose()
    return path


@settings(max_examples=130, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=entity_specs, rules=rule_sets, flip=st.lists(st.integers(0, 5), max_size=3))
@example(**LEAK_STALE_VIEW)
@example(**LEAK_CONFIDENTIAL_STALE)
def test_no_receiver_gets_an_entity_or_field_it_is_not_allowed(migrated, specs, rules, flip):
    rules = list(rules)
    entities = [build_entity(n, *spec) for n, spec in enumerate(specs)]
    by_key = {e.key: n for n, e in enumerate(entities)}
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock()
        db = Path(tmp) / "hub.sqlite"
        shutil.copyfile(migrated, db)
        store = Store(f"sqlite:///{db}", clock=clock)
        try:
            remote = Remote()
            connectors = fake_connectors(remote)
            put(store, *entities)
            engine = RulesEngine(make_config(rules), store, clock=clock)
            engine.plan()
            asyncio.run(engine.dispatch(connectors))
            allowed, present = allowed_map(rules, entities)
            first = store.outbox_rows(limit=10_000)
            check_rows(first, allowed, present, by_key)

            # second cycle: some entities turn confidential, time passes (escalations, acks due)
            changed = []
            for n in {f for f in flip if f < len(entities)}:
                entity = entities[n]
                update = {"confidential": True}
                if isinstance(entity, Meeting):
                    update["visibility"] = Visibility.CONFIDENTIAL
                entities[n] = entity.model_copy(update=update)
                changed.append(entities[n])
            if changed:
                put(store, *changed)
            clock.advance(days=2)
            engine.plan()
            asyncio.run(engine.dispatch(connectors))
            allowed, present = allowed_map(rules, entities)
            seen = {r.id for r in first}
            check_rows([r for r in store.outbox_rows(limit=10_000) if r.id not in seen], allowed, present, by_key)

            # what the writers were actually handed is exactly the planned, guarded content
            planned = {r.idempotency_key: public_content(r.content) for r in store.outbox_rows(limit=10_000)}
            for call in remote.calls:
                assert dict(call.content) == planned[call.idempotency_key]
                assert call.entity is None  # writers never get the raw entity
        finally:
            store.dispose()
