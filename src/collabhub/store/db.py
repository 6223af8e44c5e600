"""Engine setup, transactions and migrations shared by every part of the store.

SQLite connections get WAL, ``synchronous=NORMAL``, foreign keys and a busy timeout, and
SQLAlchemy (not the ``sqlite3`` module) emits BEGIN: read transactions are ``BEGIN DEFERRED``,
write transactions ``BEGIN IMMEDIATE`` so that two processes writing the same file queue up
on the busy timeout instead of failing on a lock upgrade. PostgreSQL needs nothing special.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from collabhub.errors import StoreError

__all__ = ["MIGRATIONS_DIR", "JSONText", "StoreBase", "chunked", "dump_json"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Checkpoint the WAL into the database every 10,000 pages (~40 MB) instead of SQLite's 1,000: a
# checkpoint ends with an fsync, and a bulk sync rewrites the same index pages again and again;
# at 1,000 pages the checkpoints' fsyncs took a third of a 100k-entity sync on a virtual disk.
# The WAL file is cut back to 64 MB after a checkpoint. Durability is unchanged for crashes
# (every commit is in the WAL); a power cut may lose the last commits, which the next run reads
# again (cursors commit with their pages).
SQLITE_WAL_CHECKPOINT_PAGES = 10_000
SQLITE_WAL_SIZE_LIMIT = 64 * 1024 * 1024
CHUNK = 500  # keys per IN list: far below SQLite's and PostgreSQL's bind-parameter limits
# pg_advisory_xact_lock keys; arbitrary constants that name what they serialise.
MIGRATION_LOCK_KEY = 0x636F6C6C_01
CHANGES_LOCK_KEY = 0x636F6C6C_02

_WRITE_OPTION = "collabhub_write"
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")

T = TypeVar("T")


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class JSONText(str):
    """A JSON column value already encoded as JSON text; the store writes it as it is."""

    __slots__ = ()


def dump_json(value: Any) -> str:
    """JSON for every JSON column: compact, UTF-8, unknown types as text, no NUL characters.

    PostgreSQL's JSONB cannot hold ``\\u0000``; it is dropped so one odd remote string cannot
    fail a whole page. A :class:`JSONText` passes through (after the same NUL rule).
    """
    if type(value) is JSONText:
        dumped: str = value
    else:
        dumped = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    if "\\u0000" in dumped:
        dumped = _NUL_ESCAPE.sub(r"\1", dumped)
    return dumped


def _create_engine(url: str, echo: bool) -> Engine:
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_driver_name() == "psycopg":
        # psycopg prepares a statement after 5 runs and PostgreSQL then reuses a generic plan;
        # for the page lookups (IN lists of hundreds of ids) that plan is many times slower.
        connect_args["prepare_threshold"] = None
    server = parsed.get_backend_name() != "sqlite"
    # a server connection may die while pooled (restart, idle timeout): test it on checkout
    engine = create_engine(
        parsed, echo=echo, json_serializer=dump_json, pool_pre_ping=server, connect_args=connect_args
    )
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_begin)
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_PAGES}",
            f"PRAGMA journal_size_limit={SQLITE_WAL_SIZE_LIMIT}",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show its scheme only
        return url.split(":", 1)[0] + ":…"


class StoreBase:
    """Engine, clock and transaction helpers; the store's feature mixins build on this."""

    def __init__(self, url: str, *, echo: bool = False, clock: Callable[[], datetime] | None = None) -> None:
        """Open (lazily) the database at ``url``; ``clock`` returns the aware 'now' (tests move it)."""
        self.url = url
        try:
            self.engine: Engine = _create_engine(url, echo)
        except Exception as exc:
            raise StoreError(
                f"cannot use store URL {_safe_url(url)}: {exc}",
                hint="set store.url (or COLLABHUB_DATABASE_URL) to sqlite:///FILE or postgresql+psycopg://...",
            ) from exc
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_safe_url(self.url)!r})"

    @property
    def dialect_name(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def now(self) -> datetime:
        """The store clock (UTC-aware)."""
        value = self._clock()
        if value.tzinfo is None:
            raise ValueError("the store clock returned a naive datetime; return an aware one")
        return value.astimezone(UTC)

    def insert(self, table: Any) -> Any:
        """The dialect's INSERT (it has ``on_conflict_do_nothing`` / ``on_conflict_do_update``)."""
        return postgresql.insert(table) if self.is_postgres else sqlite.insert(table)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite); commits on success, rolls back on error."""
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def allocate_ids(self, conn: Connection, table: Table, n: int) -> Sequence[int]:
        """``n`` fresh values of ``table``'s ``id`` for rows inserted in this write transaction.

        Inserting with known ids saves reading them back. SQLite: the write transaction holds
        the database's only write lock, so ``max(id) + 1 ...`` is free (it is what SQLite would
        assign). PostgreSQL: the id sequence, ``n`` values in one round trip.
        """
        if n <= 0:
            return []
        if self.is_postgres:
            sql = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")
            return [int(v) for v in conn.execute(sql, {"table": table.name, "n": n}).scalars()]
        top = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
        return range(int(top) + 1, int(top) + n + 1)

    def advisory_lock(self, conn: Connection, key: int) -> None:
        """Serialise with other transactions on ``key`` until commit (PostgreSQL; SQLite has one writer)."""
        if self.is_postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def upgrade(self, revision: str = "head") -> None:
        """Apply the Alembic migrations up to ``revision`` (head by default); a no-op when there."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        try:
            with self.write() as conn:
                self.advisory_lock(conn, MIGRATION_LOCK_KEY)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except OperationalError as exc:
            raise StoreError(
                f"cannot open the store at {_safe_url(self.url)}: {exc.orig}",
                hint="check store.url (or COLLABHUB_DATABASE_URL) and that the database is running",
            ) from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
