"""Runs and lease locks."""

from __future__ import annotations

import pytest

from collabhub.store import Store

from .helpers import T0, Clock


def test_run_lifecycle(store: Store, clock: Clock) -> None:
    first = store.start_run("jira", trigger="schedule")
    second = store.start_run("m365")
    clock.advance(30)
    store.finish_run(first, status="partial", counts={"issues": {"created": 3, "quarantined": 1}},
                     errors=["issue A-9: missing summary"])

    runs = store.recent_runs()
    assert [r.id for r in runs] == [second, first]  # newest first
    done = store.recent_runs(connector="jira")[0]
    assert (done.trigger, done.status, done.started_at, done.finished_at) == ("schedule", "partial", T0, clock())
    assert done.counts == {"issues": {"created": 3, "quarantined": 1}}
    assert done.errors == ["issue A-9: missing summary"]
    assert store.recent_runs(connector="m365")[0].status == "running"
    assert len(store.recent_runs(limit=1)) == 1


def test_finish_run_rejects_bad_status_and_unknown_run(store: Store) -> None:
    run = store.start_run("jira")
    with pytest.raises(ValueError, match="not one of ok, partial, failed, interrupted"):
        store.finish_run(run, status="great", counts={}, errors=[])
    with pytest.raises(ValueError, match="no run with id"):
        store.finish_run(run + 100, status="ok", counts={}, errors=[])


def test_lock_lease_semantics_across_store_instances(store_url: str, store: Store, clock: Clock) -> None:
    other = Store(store_url, clock=clock)  # another process, as far as the database can tell
    try:
        assert store.acquire_lock("run:jira", "A", ttl_seconds=60)
        assert not other.acquire_lock("run:jira", "B", ttl_seconds=60)
        assert store.acquire_lock("run:jira", "A", ttl_seconds=60)  # the holder may re-acquire
        assert other.acquire_lock("run:m365", "B", ttl_seconds=60)  # other names are independent

        clock.advance(50)
        assert store.renew_lock("run:jira", "A", ttl_seconds=60)  # now held until T0 + 110 s
        assert not other.renew_lock("run:jira", "B", ttl_seconds=60)
        clock.advance(50)
        assert not other.acquire_lock("run:jira", "B", ttl_seconds=60)  # renewed: still held

        clock.advance(10)  # expired: B takes over
        assert other.acquire_lock("run:jira", "B", ttl_seconds=60)
        assert not store.renew_lock("run:jira", "A", ttl_seconds=60)
        store.release_lock("run:jira", "A")  # not A's any more: no effect
        assert not store.acquire_lock("run:jira", "A", ttl_seconds=60)

        assert store.lock_owner("run:jira") == "B"
        other.release_lock("run:jira", "B")
        assert store.lock_owner("run:jira") is None
        assert store.acquire_lock("run:jira", "A", ttl_seconds=60)
    finally:
        other.dispose()


def test_sqlite_connections_get_the_hub_pragmas(store) -> None:
    if store.dialect_name != "sqlite":
        pytest.skip("SQLite pragmas")
    from collabhub.store.db import SQLITE_WAL_CHECKPOINT_PAGES, SQLITE_WAL_SIZE_LIMIT

    with store.read() as conn:
        values = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in
                  ("journal_mode", "synchronous", "wal_autocheckpoint", "journal_size_limit", "foreign_keys")}
    assert values == {"journal_mode": "wal", "synchronous": 1, "wal_autocheckpoint": SQLITE_WAL_CHECKPOINT_PAGES,
                      "journal_size_limit": SQLITE_WAL_SIZE_LIMIT, "foreign_keys": 1}
