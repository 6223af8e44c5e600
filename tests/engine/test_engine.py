"""The engine end to end with the example plugin, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import socket

import pytest

from collabhub.config import load_config
from collabhub.connector import ConnectorContext
from collabhub.engine import Engine
from collabhub.store import Store
from collabhub.store.slots import StoreSendSlots


@pytest.fixture
def setup(tmp_path, store_url, example_plugin, items_writer, config_writer):
    def make(n=35, **kw):
        return _setup(tmp_path, store_url, example_plugin, items_writer, config_writer, n=n, **kw)
    return make


def _setup(tmp_path, store_url, host, write_items, write_config, n=35, **kw):
    items = write_items(tmp_path / "items.jsonl", n, **{k: v for k, v in kw.items() if k in ("bad", "email")})
    config = load_config(write_config(tmp_path, store_url, items, **{k: v for k, v in kw.items()
                                                                     if k in ("page_size", "extra")}), host=host)
    store = Store(config.store.url)
    store.upgrade()
    return config, store, items


def _run(config, store, host, name="notes", **kw):
    async def go():
        engine = Engine(config, store, host, **kw)
        try:
            return await engine.run_connector(name)
        finally:
            await engine.aclose()

    return asyncio.run(go())


def test_full_sync_commits_entities_changes_and_cursor(tmp_path, store_url, example_plugin, setup):
    config, store, _ = setup()
    summary = _run(config, store, example_plugin)
    assert summary.status == "ok", summary.errors
    assert summary.total("created") == 35
    assert summary.streams["items"].pages == 4
    assert store.count_entities(kind="task") == 35
    assert len(store.changes_since(0, limit=100)) == 35
    assert store.get_cursor("notes", "items") == {"offset": 35}
    run = store.recent_runs(connector="notes", limit=1)[0]
    assert run.status == "ok"


def test_second_sync_changes_nothing_and_updates_are_detected(tmp_path, store_url, example_plugin, setup,
                                                            items_writer):
    config, store, items = setup()
    _run(config, store, example_plugin)
    again = _run(config, store, example_plugin)
    assert again.total("created") == again.total("updated") == 0
    items_writer(items, 35, title="Renamed {i}")
    store.set_cursor("notes", "items", None)
    changed = _run(config, store, example_plugin)
    assert changed.total("updated") == 35 and changed.total("created") == 0
    assert store.get_entity("notes", "task", "A-3").version == 2


def test_bad_records_are_quarantined_and_the_run_goes_on(tmp_path, store_url, example_plugin, setup):
    config, store, _ = setup(bad={4, 20})
    summary = _run(config, store, example_plugin)
    assert summary.status == "ok"
    assert summary.total("quarantined") == 2 and summary.total("created") == 33
    reasons = {q.external_id: q.reason for q in store.quarantined()}
    assert reasons == {"A-4": "item 'A-4' has no title", "A-20": "item 'A-20' has no title"}


def test_interrupted_run_resumes_without_loss_or_doubling(tmp_path, store_url, example_plugin, setup):
    config, store, _ = setup()
    engine_holder = {}

    def stop_after_two(connector, stream, stats):
        if stats.pages == 2:
            engine_holder["engine"].stop.set()

    async def interrupted():
        engine = Engine(config, store, example_plugin, on_page=stop_after_two)
        engine_holder["engine"] = engine
        try:
            return await engine.run_connector("notes")
        finally:
            await engine.aclose()

    first = asyncio.run(interrupted())
    assert first.status == "interrupted"
    assert store.get_cursor("notes", "items") == {"offset": 20}
    assert store.count_entities(kind="task") == 20
    second = _run(config, store, example_plugin)
    assert second.status == "ok" and second.total("created") == 15
    creates = [c for c in store.changes_since(0, limit=1000) if c.op == "create"]
    assert len(creates) == 35 == len({c.external_id for c in creates})


def test_runs_of_one_connector_never_overlap(tmp_path, store_url, example_plugin, setup):
    config, store, _ = setup()
    assert store.acquire_lock("connector:notes", "other-host:1:x", 300)
    summary = _run(config, store, example_plugin)
    assert summary.status == "skipped"
    assert store.count_entities(kind="task") == 0


def test_lease_of_a_dead_local_process_is_taken_over(tmp_path, store_url, example_plugin, setup):
    config, store, _ = setup()
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    assert store.acquire_lock("connector:notes", f"{socket.gethostname()}:{dead_pid}:x", 300)
    summary = _run(config, store, example_plugin)
    assert summary.status == "ok"


def test_identity_joins_people_and_maps_departments(tmp_path, store_url, example_plugin, setup):
    config, store, _ = setup(email=lambda i: None if i == 0 else
                              f"Person{i % 3}@Example.com")
    _run(config, store, example_plugin)
    tasks = {row.external_id: row.entity() for row in store.iter_entities(kind="task")}
    assert tasks["A-1"].assignee.person_id == tasks["A-4"].assignee.person_id  # same email, any case
    assert tasks["A-1"].assignee.person_id != tasks["A-2"].assignee.person_id
    assert tasks["A-1"].department == "eng" and tasks["A-2"].department == "ops"
    assert tasks["A-1"].extra["source_department"] == "ENG"
    assert len(list(store.iter_people())) == 3


def test_config_people_links_and_ambiguity_go_to_review(tmp_path, store_url, example_plugin, setup):
    extra = """people:
  - name: 张伟
    email: person1@example.com
    mobile: "+86-13800000001"
  - name: 李娜
    email: other@example.com
    mobile: "13800000002"
"""
    config, store, _ = setup(extra=extra)
    from collabhub.identity import IdentityResolver
    from collabhub.model import PersonRef

    resolver = IdentityResolver(store, config, example_plugin)
    resolver.sync_config()
    ok = PersonRef(connector="notes", external_id="acc-1", email="PERSON1@example.com")
    clash = PersonRef(connector="notes", external_id="acc-2", email="person1@example.com", mobile="13800000002")
    nothing = PersonRef(connector="notes", external_id="acc-3", display_name="Ghost")
    hooked = PersonRef(connector="notes", external_id="acc-4", display_name="Example Person")

    from collabhub.model import EntityKind, SourceRef, Task

    tasks = [Task(source=SourceRef(connector="notes", kind=EntityKind.TASK, external_id=f"T{i}"), title="t",
                  assignee=ref) for i, ref in enumerate([ok, clash, nothing, hooked])]
    stats = resolver.resolve("notes", tasks)
    assert (stats.linked, stats.ambiguous, stats.unmatched, stats.created) == (1, 1, 1, 1)
    assert store.get_person(ok.person_id).name == "张伟"
    assert clash.person_id is None and nothing.person_id is None
    assert store.get_person(hooked.person_id).email == "example.person@example.com"
    review = {(r.external_id, r.reason) for r in store.review_items()}
    assert review == {("acc-2", "ambiguous"), ("acc-3", "unmatched")}


@pytest.mark.parametrize("n", [0])
def test_empty_source_is_ok(tmp_path, store_url, example_plugin, setup, n):
    config, store, _ = setup(n=n)
    summary = _run(config, store, example_plugin)
    assert summary.status == "ok" and summary.total("created") == 0


def test_directory_departments_flow_to_entities_without_one(tmp_path, store_url, example_plugin, setup):
    config, store, _ = setup(n=1)
    from collabhub.identity import IdentityResolver
    from collabhub.model import EntityKind, Meeting, Person, PersonRef, SourceRef

    resolver = IdentityResolver(store, config, example_plugin)
    person = Person(source=SourceRef(connector="notes", kind=EntityKind.PERSON, external_id="ou_1"), name="王芳",
                    email="wang.fang@example.com", departments=["OPS"])
    resolver.resolve("notes", [person])
    assert person.departments == ["ops"]  # mapped through the aliases
    from datetime import UTC, datetime

    meeting = Meeting(source=SourceRef(connector="notes", kind=EntityKind.MEETING, external_id="m1"), title="周会",
                      start=datetime(2026, 11, 2, 1, tzinfo=UTC), end=datetime(2026, 11, 2, 2, tzinfo=UTC),
                      organizer=PersonRef(connector="other", external_id="x", email="WANG.FANG@example.com"))
    IdentityResolver(store, config, example_plugin).resolve("other", [meeting])  # a later run, another system
    assert meeting.department == "ops" and meeting.extra["department_from"] == "owner"


def test_people_new_in_a_page_are_created_together_and_joined_by_key(tmp_path, store_url, example_plugin, setup):
    config, store, _ = setup(n=1)
    from collabhub.identity import IdentityResolver
    from collabhub.model import EntityKind, PersonRef, SourceRef, Task

    existing = store.create_person("Old", email="old@example.com")
    refs = [
        PersonRef(connector="notes", external_id="a1", email="new@example.com", display_name="New One"),
        PersonRef(connector="notes", external_id="a2", email="NEW@example.com"),  # same key, other account
        PersonRef(connector="notes", external_id="a3", mobile="13900000003"),
        # a mobile new in this page plus an email of a stored person: two candidates, ambiguous
        PersonRef(connector="notes", external_id="a4", email="old@example.com", mobile="13900000003"),
    ]
    tasks = [Task(source=SourceRef(connector="notes", kind=EntityKind.TASK, external_id=f"T{i}"), title="t",
                  assignee=ref) for i, ref in enumerate(refs)]
    stats = IdentityResolver(store, config, example_plugin).resolve("notes", tasks)
    assert (stats.created, stats.linked, stats.ambiguous) == (2, 1, 1)
    assert refs[0].person_id == refs[1].person_id and refs[0].person_id is not None
    assert "person_id" in refs[0].model_fields_set and tasks[0].assignee.model_dump()["person_id"] == refs[0].person_id
    assert store.get_person(refs[0].person_id).name == "New One"
    assert refs[2].person_id not in (None, refs[0].person_id) and refs[3].person_id is None
    review = {r.external_id: sorted(r.candidates) for r in store.review_items()}
    assert review == {"a4": sorted([existing, refs[2].person_id])}
    assert store.identities_for("notes", ["a1", "a2", "a3"]) == {
        "a1": refs[0].person_id, "a2": refs[0].person_id, "a3": refs[2].person_id}


def test_a_nul_in_a_remote_id_quarantines_that_record_only(tmp_path, store_url, example_plugin, setup):
    """PostgreSQL cannot store NUL in text: the record is a mapping error, the page still commits."""
    import json

    config, store, items = setup(n=3)
    lines = items.read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[1])
    bad["id"] = "A-\x001"
    items.write_text("\n".join([lines[0], json.dumps(bad), lines[2]]) + "\n", encoding="utf-8")
    summary = _run(config, store, example_plugin)
    assert summary.status == "ok", summary.errors
    assert (summary.total("created"), summary.total("quarantined")) == (2, 1)
    assert "pattern" in store.quarantined()[0].reason


def test_default_context_shares_send_slots_through_the_store(setup, example_plugin):
    config, store, _ = setup(n=1)
    slots = Engine(config, store, example_plugin).connector("notes").context.send_slots
    assert isinstance(slots, StoreSendSlots) and slots.store is store
    own = Engine(config, store, example_plugin, context_factory=lambda name: ConnectorContext())
    assert own.connector("notes").context.send_slots is None  # a factory's context is kept as it is
