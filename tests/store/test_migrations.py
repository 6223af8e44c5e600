"""Migrations: they reproduce the metadata exactly, and upgrading twice is harmless."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from collabhub.store import Store, metadata


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
