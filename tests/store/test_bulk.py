"""The hot-path executemany stores exactly what a plain SQLAlchemy insert stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from collabhub.store import Store
from collabhub.store.bulk import executemany
from collabhub.store.db import JSONText
from collabhub.store.schema import entities

ODD_TEXT = ['plain', 'quote " and \\ backslash', "跨部门 协调 🗓", "tab\tnew\nline", "x" * 3000, "", "'; drop"]
PAGE = 16


def _rows(prefix: str, nul: bool = False) -> list[dict]:
    t0 = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    return [
        {
            "id": None, "connector": "c", "kind": "task", "external_id": f"{prefix}-{i}" + ("\x00x" if nul else ""),
            "version": i, "content_hash": ODD_TEXT[i % len(ODD_TEXT)], "deleted": bool(i % 2),
            "data": {"title": ODD_TEXT[i % len(ODD_TEXT)], "n": i, "f": i / 3, "none": None} if i % 3 else
            JSONText('{"title":"pre-encoded","n":' + str(i) + "}"),
            "department": None if i % 4 == 0 else ODD_TEXT[i % len(ODD_TEXT)], "project": None,
            "updated_at": t0 + timedelta(seconds=i), "first_seen": t0.replace(microsecond=0),
            "last_changed": t0.astimezone(UTC),
        }
        for i in range(PAGE)
    ]


def _stored(store: Store, prefix: str) -> list[tuple]:
    with store.read() as conn:
        rows = conn.execute(select(entities).where(entities.c.external_id.like(f"{prefix}-%"))
                            .order_by(entities.c.version)).all()
    return [tuple(r)[1:] for r in rows]


@pytest.mark.parametrize("nul", [False, True], ids=["text", "text-with-NUL"])
def test_executemany_stores_what_sqlalchemy_stores(store: Store, nul: bool) -> None:
    if nul and store.dialect_name != "sqlite":
        pytest.skip("PostgreSQL text cannot hold NUL at all")
    fast, plain = _rows("fast", nul), _rows("plain", nul)
    with store.write() as conn:
        for offset, row in enumerate(fast + plain, start=1):
            row["id"] = offset
        executemany(conn, entities.insert(), fast)
        conn.execute(entities.insert(), plain)
    got, expected = _stored(store, "fast"), _stored(store, "plain")
    assert len(got) == len(expected) == PAGE
    for fast_row, plain_row in zip(got, expected, strict=True):
        assert fast_row[2].replace("fast", "plain", 1) == plain_row[2]  # external_id
        assert fast_row[:2] + fast_row[3:] == plain_row[:2] + plain_row[3:]
    if store.dialect_name == "sqlite":
        assert got[1][6] == {"title": ODD_TEXT[1], "n": 1, "f": 1 / 3, "none": None}
        assert got[1][9] == datetime(2026, 11, 2, 1, 30, 16, 123456, tzinfo=UTC)


def test_sqlite_time_processors_match_sqlalchemys_own() -> None:
    """The one-step SQLite processors write and read exactly what the generic two-step path does."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.types import TypeDecorator

    from collabhub.store.schema import UTCDateTime

    dialect = sqlite.dialect()
    impl = UTCDateTime().dialect_impl(dialect)
    fast_bind, fast_result = impl.bind_processor(dialect), impl.result_processor(dialect, None)
    slow_bind = TypeDecorator.bind_processor(impl, dialect)
    slow_result = TypeDecorator.result_processor(impl, dialect, None)
    cst = timezone(timedelta(hours=8))
    for value in (datetime(2026, 11, 2, 9, 0, tzinfo=cst), datetime(2026, 11, 2, 1, 2, 3, 7, tzinfo=UTC),
                  datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2026, 3, 29, 23, 59, 59, 999999, tzinfo=cst),
                  None):
        stored = fast_bind(value)
        assert stored == slow_bind(value)
        assert fast_result(stored) == slow_result(stored) == (value.astimezone(UTC) if value else None)
    with pytest.raises(ValueError, match="naive datetime"):
        fast_bind(datetime(2026, 11, 2, 9, 0))
