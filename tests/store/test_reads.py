"""Entity reads, checkpoints, cursors, time zones and the public surface."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

import collabhub.store
from collabhub.errors import StoreError
from collabhub.model import Task
from collabhub.store import Store

from .helpers import T0, Clock, meeting, task


def test_iter_entities_streams_in_batches_with_filters(store: Store) -> None:
    store.apply_page(connector="jira", stream="issues", run_id=None,
                     entities=[task(f"A-{i}") for i in range(7)], deleted=[])
    store.apply_page(connector="jira", stream="issues", run_id=None, entities=[], deleted=[("task", "A-3")])
    store.apply_page(connector="m365", stream="events", run_id=None, entities=[meeting("M-1")])

    ids = [e.external_id for e in store.iter_entities(kind="task", batch_size=2)]
    assert ids == ["A-0", "A-1", "A-2", "A-4", "A-5", "A-6"]
    assert len(list(store.iter_entities(include_deleted=True, batch_size=3))) == 8
    assert [e.kind for e in store.iter_entities(connector="m365")] == ["meeting"]
    first = next(store.iter_entities(kind="task"))
    assert isinstance(first.entity(), Task) and first.entity().source.external_id == "A-0"
    assert store.count_entities(connector="jira") == 6
    assert store.get_entity("jira", "task", "nope") is None


def test_checkpoints(store: Store) -> None:
    assert store.get_checkpoint("rules") == 0
    store.set_checkpoint("rules", 10)
    store.set_checkpoint("rules", 25)
    store.set_checkpoint("export", 3)
    assert (store.get_checkpoint("rules"), store.get_checkpoint("export")) == (25, 3)


def test_cursors_set_list_and_delete(store: Store, clock: Clock) -> None:
    store.set_cursor("m365", "events", {"deltaLink": "https://graph.example/delta?token=1"})
    clock.advance(5)
    store.set_cursor("m365", "events", {"deltaLink": "https://graph.example/delta?token=2"})
    store.set_cursor("jira", "issues", {"updated": "2025-03-01T00:00:00Z", "中文": "值"})
    assert store.get_cursor("jira", "issues")["中文"] == "值"

    rows = store.list_cursors()
    assert [(r.connector, r.stream) for r in rows] == [("jira", "issues"), ("m365", "events")]
    assert rows[1].value["deltaLink"].endswith("token=2") and rows[1].updated_at == clock()
    assert len(store.list_cursors("m365")) == 1

    store.set_cursor("m365", "events", None)
    assert store.get_cursor("m365", "events") is None


def test_datetimes_are_utc_aware_in_and_out(store: Store, clock: Clock) -> None:
    clock.value = datetime(2025, 3, 1, 17, 0, tzinfo=timezone(timedelta(hours=8)))  # Beijing time
    store.record_event("feishu", "ping", {})
    at = store.events()[0].at
    assert at == T0 and at.utcoffset() == timedelta(0)
    with pytest.raises(StatementError, match="naive datetime"):
        store.mark_failed(1, error="x", next_attempt_at=datetime(2025, 1, 1))


def test_unreachable_database_is_a_store_error(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}")
    with pytest.raises(StoreError, match="cannot open the store"):
        store.upgrade()


def test_repr_hides_the_password() -> None:
    store = Store("postgresql+psycopg://hub:s3cret@db.example:5432/hub")
    assert "s3cret" not in repr(store)


def test_public_surface() -> None:
    assert set(collabhub.store.__all__) == {
        "OUTBOX_STATUSES", "RUN_STATUSES", "ChangeRecord", "CursorRow", "DeliveryRow", "EventRow", "OutboxItem",
        "OutboxRow", "PageStats", "PersonRow", "QuarantineItem", "QuarantineRow", "ReviewRow", "RunRow", "Store",
        "StoredEntity", "metadata",
    }
