"""apply_page: counts, versions, change records, atomicity, deletes, sweep, quarantine, echoes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from collabhub.model import EntityKind, Link, echo_fingerprint
from collabhub.store import PageStats, QuarantineItem, Store
from collabhub.store import pages as pages_module

from .helpers import T0, meeting, task


def apply(store: Store, *entities, connector: str = "jira", stream: str = "issues", **kw) -> PageStats:
    return store.apply_page(connector=connector, stream=stream, run_id=kw.pop("run_id", None),
                            entities=list(entities), **kw)


def test_create_update_unchanged_and_delete_counts(store: Store) -> None:
    first = apply(store, task("A-1"), task("A-2"), task("A-3"))
    assert first == PageStats(created=3)

    second = apply(store, task("A-1"), task("A-2", title="Renamed"), task("A-3", deleted=True), task("A-4"))
    assert second == PageStats(created=1, updated=1, unchanged=1, deleted=1)
    assert (first + second).created == 4

    assert store.count_entities(kind="task") == 3
    assert store.count_entities(kind=EntityKind.TASK, include_deleted=True) == 4
    assert store.get_entity("jira", "task", "A-2").entity().title == "Renamed"


def test_versions_increment_only_on_real_changes(store: Store) -> None:
    apply(store, task("A-1"))
    apply(store, task("A-1"))
    assert store.get_entity("jira", "task", "A-1").version == 1
    apply(store, task("A-1", title="v2"))
    apply(store, task("A-1", title="v3"))
    row = store.get_entity("jira", EntityKind.TASK, "A-1")
    assert (row.version, row.data["title"]) == (3, "v3")


def test_remote_version_stamp_alone_is_no_change(store: Store) -> None:
    one = task("A-1")
    one.source.version = "7"
    apply(store, one)
    two = task("A-1")
    two.source.version = "8"
    assert apply(store, two) == PageStats(unchanged=1)


def test_change_records_in_order_with_run_and_hash(store: Store) -> None:
    run_id = store.start_run("jira")
    apply(store, task("A-1"), task("A-2"), run_id=run_id)
    apply(store, task("A-1", title="new"), task("A-2"), run_id=run_id)
    apply(store, deleted=[("task", "A-2")], run_id=run_id)

    records = store.changes_since(0)
    assert [(c.external_id, c.op, c.version) for c in records] == [
        ("A-1", "create", 1), ("A-2", "create", 1), ("A-1", "update", 2), ("A-2", "delete", 2),
    ]
    assert {c.run_id for c in records} == {run_id}
    assert records[2].content_hash == store.get_entity("jira", "task", "A-1").content_hash
    assert records[0].at == T0 and records[0].at.tzinfo is not None
    assert store.max_change_id() == records[-1].id
    assert [c.op for c in store.changes_since(records[1].id, limit=1)] == ["update"]
    assert store.changes_since(0, kinds=["meeting"]) == []


def test_cursor_commits_with_the_page(store: Store) -> None:
    apply(store, task("A-1"), cursor={"updated": "2025-01-01"})
    assert store.get_cursor("jira", "issues") == {"updated": "2025-01-01"}
    apply(store, task("A-2"))  # no cursor: the previous one is kept
    assert store.get_cursor("jira", "issues") == {"updated": "2025-01-01"}
    apply(store, cursor_clear=True)
    assert store.get_cursor("jira", "issues") is None


def test_failure_mid_page_keeps_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    apply(store, task("A-1"), cursor={"page": 1})

    def broken(self, stream, value, clear):  # fails after entities and changes were written
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pages_module._PageWriter, "write_cursor", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        apply(store, task("A-1", title="changed"), task("A-2"), deleted=[("task", "A-1")], cursor={"page": 2})
    monkeypatch.undo()

    assert store.get_cursor("jira", "issues") == {"page": 1}
    assert store.count_entities(include_deleted=True) == 1
    row = store.get_entity("jira", "task", "A-1")
    assert (row.version, row.data["title"], row.deleted) == (1, "Write report", False)
    assert [c.op for c in store.changes_since(0)] == ["create"]


def test_unserialisable_entity_fails_before_writing(store: Store) -> None:
    with pytest.raises(Exception):  # noqa: B017 - pydantic's serialisation error type is private
        apply(store, task("A-1"), task("A-2", extra={"bad": object()}), cursor={"page": 1})
    assert store.count_entities() == 0
    assert store.get_cursor("jira", "issues") is None


def test_deleted_ids_and_undelete(store: Store) -> None:
    apply(store, task("A-1"), task("A-2"))
    stats = apply(store, deleted=[("task", "A-1"), (EntityKind.TASK, "unknown"), ("task", "A-1")])
    assert stats == PageStats(deleted=1)
    gone = store.get_entity("jira", "task", "A-1")
    assert gone.deleted and gone.version == 2 and gone.entity().deleted
    assert apply(store, deleted=[("task", "A-1")]) == PageStats()  # already deleted

    back = apply(store, task("A-1"))
    assert back == PageStats(updated=1)
    row = store.get_entity("jira", "task", "A-1")
    assert (row.deleted, row.version) == (False, 3)
    assert apply(store, task("gone-never-seen", deleted=True)) == PageStats()


def test_sweep_marks_missing_rows_deleted(store: Store) -> None:
    apply(store, task("A-1"), task("A-2"), task("A-3"))
    apply(store, meeting("M-1"), connector="m365", stream="events")
    stats = apply(store, task("A-4"), sweep=(EntityKind.TASK, frozenset({"A-1"})))
    assert stats == PageStats(created=1, deleted=2)  # A-4 is in the page, so it stays
    alive = sorted(e.external_id for e in store.iter_entities(connector="jira"))
    assert alive == ["A-1", "A-4"]
    assert store.count_entities(connector="m365") == 1  # other connectors untouched
    assert [c.op for c in store.changes_since(0)][-2:] == ["delete", "delete"]


def test_quarantine_and_its_clearing(store: Store) -> None:
    run_id = store.start_run("jira")
    huge = {"id": "A-9", "blob": "x" * 200_000}
    stats = apply(store, task("A-1"), run_id=run_id, quarantine=[
        QuarantineItem("A-2", "missing field 'summary'", {"id": "A-2"}),
        QuarantineItem("A-9", "too odd", huge),
        QuarantineItem(None, "no id at all", ["weird"]),
    ])
    assert stats == PageStats(created=1, quarantined=3)
    assert store.count_quarantined("jira") == 3
    rows = {r.external_id: r for r in store.quarantined(connector="jira")}
    assert rows["A-2"].raw == {"id": "A-2"} and rows["A-2"].run_id == run_id
    assert rows["A-9"].raw["truncated"] is True and len(rows["A-9"].raw["head"]) <= 64 * 1024

    # the same record failing again replaces its row instead of piling up
    apply(store, quarantine=[QuarantineItem("A-2", "still missing 'summary'", {"id": "A-2"})])
    assert store.count_quarantined() == 3

    # a later successful upsert resolves it
    apply(store, task("A-2"))
    assert store.count_quarantined("jira") == 2
    assert "A-2" not in {r.external_id for r in store.quarantined()}
    assert store.count_quarantined("m365") == 0


def test_echo_of_what_the_hub_wrote_makes_no_change_record(store: Store) -> None:
    written = task("fs-1", title="Prepare slides", connector="feishu")
    store.upsert_link(Link(
        entity_connector="jira", entity_kind=EntityKind.TASK, entity_external_id="A-1",
        target_connector="feishu", channel="task", target_external_id="fs-1",
        fingerprint=echo_fingerprint(written),
    ))
    # feishu stamps its own updated time: still an echo
    echo = task("fs-1", title="Prepare slides", connector="feishu", updated=datetime(2025, 3, 2, tzinfo=UTC))
    stats = apply(store, echo, task("fs-2", connector="feishu"), connector="feishu", stream="tasks")
    assert stats == PageStats(created=1, echoes=1)
    assert store.get_entity("feishu", "task", "fs-1") is not None  # stored all the same
    assert [c.external_id for c in store.changes_since(0)] == ["fs-2"]

    # someone edits it in Feishu: a real change
    edited = task("fs-1", title="Prepare slides (v2)", connector="feishu")
    assert apply(store, edited, connector="feishu", stream="tasks") == PageStats(updated=1)
    assert [c.op for c in store.changes_since(0)] == ["create", "update"]


def test_entity_columns_for_rules_queries(store: Store) -> None:
    due = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)
    apply(store, task("A-1", department="rnd", project="apollo", updated=due))
    apply(store, meeting("M-1"), connector="m365", stream="events")
    row = store.get_entity("jira", "task", "A-1")
    assert row.updated_at == due and row.first_seen == T0
    assert store.get_entity("m365", "meeting", "M-1").updated_at == datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def test_page_larger_than_one_chunk(store: Store) -> None:
    batch = [task(f"A-{i}") for i in range(1200)]
    assert apply(store, *batch).created == 1200
    batch[7] = task("A-7", title="edited")
    stats = apply(store, *batch, sweep=("task", frozenset()))
    assert (stats.updated, stats.unchanged, stats.deleted) == (1, 1199, 0)
    assert apply(store, deleted=[("task", f"A-{i}") for i in range(1200)]).deleted == 1200


def test_repeated_key_in_a_page_keeps_the_last(store: Store) -> None:
    assert apply(store, task("A-1", title="first"), task("A-1", title="last")) == PageStats(created=1)
    assert store.get_entity("jira", "task", "A-1").data["title"] == "last"


def test_entity_of_another_connector_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="belongs to connector 'feishu'"):
        apply(store, task("x", connector="feishu"))


def test_nul_characters_do_not_break_a_page(store: Store) -> None:
    apply(store, task("A-1", description="bad\x00byte and a literal \\u0000 text"))
    assert store.get_entity("jira", "task", "A-1").data["description"] == "badbyte and a literal \\u0000 text"


def test_concurrent_pages_from_two_writers(store_url: str, store: Store) -> None:
    writers = [Store(store_url), Store(store_url)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(index: int) -> None:
        connector = ("jira", "feishu")[index]
        try:
            start.wait()
            for page in range(8):
                batch = [task(f"{connector}-{page}-{i}", connector=connector) for i in range(40)]
                writers[index].apply_page(connector=connector, stream="s", run_id=None, entities=batch,
                                          cursor={"page": page})
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in writers:
        w.dispose()
    assert errors == []
    assert store.count_entities() == 640
    assert len({c.id for c in store.changes_since(0, limit=1000)}) == 640
    assert store.get_cursor("jira", "s") == {"page": 7} == store.get_cursor("feishu", "s")


def test_a_moved_updated_stamp_alone_is_a_touch_not_a_change(store: Store) -> None:
    apply(store, task("J-1", updated=T0))
    before = store.changes_since(0)
    later = T0.replace(hour=T0.hour + 1)
    stats = apply(store, task("J-1", updated=later))  # e.g. a comment: the remote bumped `updated` only
    assert (stats.updated, stats.unchanged) == (0, 1)
    assert store.changes_since(0) == before
    row = store.get_entity("jira", "task", "J-1")
    assert row.version == 1 and row.entity().updated == later  # freshness sees the touch
    assert apply(store, task("J-1", title="Renamed", updated=later)).updated == 1
