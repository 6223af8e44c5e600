"""Fast executemany for the sync hot path.

``Connection.execute(stmt, rows)`` runs SQLAlchemy's per-row parameter machinery, which costs
more than the database itself for pages of small rows. Here a statement is compiled once per
dialect, each value goes through the column type's own bind processor (so JSON, timestamps and
booleans are stored exactly as SQLAlchemy would store them), and the driver's ``executemany``
gets plain tuples (qmark drivers such as sqlite3) or dicts (pyformat drivers such as psycopg).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Executable

__all__ = ["executemany"]

Processor = Callable[[Any], Any] | None
_compiled: dict[tuple[int, str, tuple[str, ...]], tuple[str, list[str], list[Processor]]] = {}


def _compile(conn: Connection, stmt: Executable, keys: tuple[str, ...]) -> tuple[str, list[str], list[Processor]]:
    cache_key = (id(stmt), conn.dialect.name, keys)
    found = _compiled.get(cache_key)
    if found is not None:
        return found
    dialect = conn.dialect
    is_insert = getattr(stmt, "is_insert", False)
    # for_executemany: no RETURNING of generated keys (nobody reads them here)
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if is_insert else None, for_executemany=True)
    names = list(compiled.positiontup) if dialect.positional and compiled.positiontup else list(compiled.binds)
    processors: list[Processor] = []
    for name in names:
        bind_type = compiled.binds[name].type
        processors.append(bind_type.dialect_impl(dialect).bind_processor(dialect))
    found = (str(compiled), names, processors)
    _compiled[cache_key] = found
    return found


def executemany(conn: Connection, stmt: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run ``stmt`` once per row of ``rows`` (all with the same keys) in one driver call.

    ``stmt`` must be a module-level statement (compiled forms are cached by its identity).
    """
    if not rows:
        return
    sql, names, processors = _compile(conn, stmt, tuple(rows[0]))
    # column by column: one C-level map per column instead of a Python call per value
    columns: list[Any] = []
    for name, proc in zip(names, processors, strict=True):
        values = list(map(itemgetter(name), rows))
        columns.append(list(map(_Memo(proc), values)) if proc else values)
    if conn.dialect.positional:
        params: list[Any] = list(zip(*columns, strict=True))
    else:
        params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    driver = conn.connection.driver_connection
    if conn.dialect.driver == "psycopg" and getattr(driver, "prepare_threshold", 0) != 0:
        # The store turns psycopg's automatic prepared statements off (generic plans hurt the
        # IN-list lookups); these row-at-a-time INSERT/UPDATEs by key plan the same every
        # time, and preparing them once saves a parse and plan per row (2-3x faster).
        threshold = driver.prepare_threshold
        driver.prepare_threshold = 0
        try:
            conn.exec_driver_sql(sql, params)
        finally:
            driver.prepare_threshold = threshold
    else:
        conn.exec_driver_sql(sql, params)


class _Memo:
    """A bind processor that remembers its last input: a page's rows share one "now" timestamp."""

    __slots__ = ("_last_in", "_last_out", "_proc")

    def __init__(self, proc: Callable[[Any], Any]) -> None:
        self._proc = proc
        self._last_in: Any = _Memo
        self._last_out: Any = None

    def __call__(self, value: Any) -> Any:
        if value is self._last_in:
            return self._last_out
        out = self._proc(value)
        if not isinstance(value, dict | list):  # containers may be mutated between rows
            self._last_in, self._last_out = value, out
        return out
