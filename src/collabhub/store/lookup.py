"""Keyed lookups of one page's entities, without SQLAlchemy's per-call statement work.

An expanding ``IN`` list makes SQLAlchemy render the statement again on every call. Here the
SQL is compiled once per dialect and shape: an ``IN (?, ?, ...)`` list of the chunk's length on
SQLite (pages have one or two chunk lengths), ``= ANY(array)`` on PostgreSQL. Result values go
through the columns' own result processors, so they come back exactly as a SQLAlchemy query
would return them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ARRAY, Column, Connection, String, any_, bindparam, select
from sqlalchemy.engine import Dialect

from collabhub.store.schema import entities

__all__ = ["rows_by_external_id"]

Processor = Callable[[Any], Any] | None
# (dialect, columns, ids per statement or 0 for an array) -> (sql, parameter layout, result processors)
_Compiled = tuple[str, list[str], list[str | int], list[Processor]]
_compiled: dict[tuple[str, tuple[str, ...], int], _Compiled] = {}


def _compile(dialect: Dialect, columns: tuple[Column[Any], ...], n: int) -> _Compiled:
    array = dialect.name == "postgresql"
    key = (dialect.name, tuple(c.name for c in columns), 0 if array else n)
    found = _compiled.get(key)
    if found is not None:
        return found
    where = [entities.c.connector == bindparam("connector", ""), entities.c.kind == bindparam("kind", "")]
    if array:
        where.append(entities.c.external_id == any_(bindparam("ids", type_=ARRAY(String))))
        compiled = select(*columns).where(*where).compile(dialect=dialect)
    else:
        where.append(entities.c.external_id.in_(bindparam("ids", value=[""] * n, expanding=True)))
        compiled = select(*columns).where(*where).compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    names = list(compiled.positiontup or []) if dialect.positional else list(compiled.binds)
    # each parameter is "connector", "kind", "ids" (the array) or the position of one id
    layout: list[str | int] = [
        name if name in ("connector", "kind", "ids") else int(name.rsplit("_", 1)[1]) - 1 for name in names
    ]
    processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
    found = (str(compiled), names, layout, processors)
    _compiled[key] = found
    return found


def rows_by_external_id(
    conn: Connection, columns: tuple[Column[Any], ...], connector: str, kind: str, ids: Sequence[str]
) -> list[tuple[Any, ...]]:
    """``columns`` of the stored entities of ``connector``/``kind`` whose external id is in ``ids``."""
    if not ids:
        return []
    dialect = conn.dialect
    sql, names, layout, processors = _compile(dialect, columns, len(ids))
    values: dict[str, Any] = {"connector": connector, "kind": kind, "ids": list(ids)}
    ordered = [ids[p] if isinstance(p, int) else values[p] for p in layout]
    params: Any = tuple(ordered) if dialect.positional else dict(zip(names, ordered, strict=True))
    rows = conn.exec_driver_sql(sql, params).fetchall()
    if not any(processors):
        return [tuple(row) for row in rows]
    return [tuple(proc(v) if proc else v for proc, v in zip(processors, row, strict=True)) for row in rows]
