"""Shared database fixtures: a fresh SQLite file, a fresh PostgreSQL schema, or either (``store_url``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL_ENV = "COLLABHUB_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_base_url() -> str:
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


@cache
def _pg_unreachable_reason() -> str | None:
    """Why PostgreSQL cannot be used (checked once per session), or None when it can."""
    try:
        engine = create_engine(_pg_base_url(), connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # any failure means: skip, and say why
        return f"PostgreSQL unreachable at {make_url(_pg_base_url()).render_as_string()} ({PG_URL_ENV}): {exc}"
    return None


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A new, empty SQLite database file."""
    return f"sqlite:///{tmp_path / 'collabhub.sqlite'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a fresh PostgreSQL schema, dropped after the test."""
    reason = _pg_unreachable_reason()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(_pg_base_url())
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(_pg_base_url()).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request) -> str:
    """Each test using it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
