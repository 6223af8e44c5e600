"""Migrations: they reproduce the metadata exactly, and upgrading twice is harmless."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from collabhub.model import content_hash
from collabhub.store import Store, metadata
from collabhub.store.schema import entities

from .helpers import Clock, task


def test_migrated_schema_equals_metadata(store_url: str) -> None:
    store = Store(store_url)
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        store.dispose()


def test_upgrade_is_idempotent_and_keeps_data(store_url: str) -> None:
    store = Store(store_url)
    try:
        store.upgrade()
        store.set_checkpoint("rules", 42)
        store.upgrade()
        assert store.get_checkpoint("rules") == 42
        tables = set(inspect(store.engine).get_table_names())
        assert set(metadata.tables) | {"alembic_version"} == tables
    finally:
        store.dispose()


def test_dialect_name(store_url: str) -> None:
    store = Store(store_url)
    assert store.dialect_name in {"sqlite", "postgresql"}
    assert store.dialect_name == ("sqlite" if store_url.startswith("sqlite") else "postgresql")
    store.dispose()


def test_upgrade_to_0002_rehashes_stored_entities(store_url: str) -> None:
    """Entities stored under the old hash are not seen as changed after the upgrade."""
    store = Store(store_url, clock=Clock())
    try:
        store.upgrade("0001")
        same, broken = task("A-1", extra={"k": "v"}), task("A-2")
        now = store.now()
        with store.write() as conn:
            for entity, data in ((same, same.model_dump(mode="json")), (broken, {"not": "a task"})):
                conn.execute(entities.insert().values(
                    connector="jira", kind="task", external_id=entity.source.external_id, version=1,
                    content_hash="hash-of-0001", deleted=False, data=data, updated_at=now, first_seen=now,
                    last_changed=now))
        store.upgrade()
        assert store.get_entity("jira", "task", "A-1").content_hash == content_hash(same)
        assert store.get_entity("jira", "task", "A-2").content_hash == "hash-of-0001"  # left alone
        stats = store.apply_page(connector="jira", stream="issues", run_id=None, entities=[same, broken])
        assert (stats.unchanged, stats.updated) == (1, 1)
        index_names = {ix["name"] for ix in inspect(store.engine).get_indexes("entities")}
        assert "ix_entities_department" not in index_names and "ix_entities_kind_id" in index_names
    finally:
        store.dispose()
