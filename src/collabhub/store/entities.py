"""Reading entities and change records; consumer checkpoints; stream cursors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlalchemy.sql.elements import ColumnElement

from collabhub.model import EntityKind
from collabhub.store.db import StoreBase
from collabhub.store.rows import ChangeRecord, CursorRow, StoredEntity
from collabhub.store.schema import changes, checkpoints, cursors, entities

__all__ = ["EntityReadMixin"]


def _stored(row: Row[Any]) -> StoredEntity:
    return StoredEntity(
        id=row.id, connector=row.connector, kind=row.kind, external_id=row.external_id, version=row.version,
        content_hash=row.content_hash, deleted=row.deleted, data=row.data, updated_at=row.updated_at,
        first_seen=row.first_seen, last_changed=row.last_changed,
    )


def _filters(kind: EntityKind | str | None, connector: str | None, include_deleted: bool) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if kind is not None:
        where.append(entities.c.kind == str(kind))
    if connector is not None:
        where.append(entities.c.connector == connector)
    if not include_deleted:
        where.append(entities.c.deleted.is_(False))
    return where


class EntityReadMixin(StoreBase):
    """Entities, change records, checkpoints and cursors."""

    # -- entities ------------------------------------------------------------------------

    def get_entity(self, connector: str, kind: EntityKind | str, external_id: str) -> StoredEntity | None:
        """One stored entity (deleted ones included), or ``None``."""
        stmt = select(entities).where(
            entities.c.connector == connector, entities.c.kind == str(kind), entities.c.external_id == external_id
        )
        with self.read() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _stored(row)

    def iter_entities(
        self,
        *,
        kind: EntityKind | str | None = None,
        connector: str | None = None,
        include_deleted: bool = False,
        batch_size: int = 1000,
    ) -> Iterator[StoredEntity]:
        """Stream entities in id order, ``batch_size`` rows per query (keyset pagination)."""
        where = _filters(kind, connector, include_deleted)
        last_id = 0
        while True:
            stmt = select(entities).where(*where, entities.c.id > last_id).order_by(entities.c.id).limit(batch_size)
            with self.read() as conn:
                rows = conn.execute(stmt).all()
            for row in rows:
                yield _stored(row)
            if len(rows) < batch_size:
                return
            last_id = rows[-1].id

    def count_entities(
        self, *, kind: EntityKind | str | None = None, connector: str | None = None, include_deleted: bool = False
    ) -> int:
        stmt = select(func.count()).select_from(entities).where(*_filters(kind, connector, include_deleted))
        with self.read() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- change records ------------------------------------------------------------------

    def changes_since(
        self, after_id: int, *, limit: int = 1000, kinds: Sequence[str] | None = None
    ) -> list[ChangeRecord]:
        """Change records with ``id > after_id`` in id order (optionally of some entity kinds only)."""
        stmt = select(changes).where(changes.c.id > after_id)
        if kinds is not None:
            stmt = stmt.where(changes.c.kind.in_([str(k) for k in kinds]))
        stmt = stmt.order_by(changes.c.id).limit(limit)
        with self.read() as conn:
            rows = conn.execute(stmt).all()
        return [
            ChangeRecord(
                id=r.id, entity_id=r.entity_id, connector=r.connector, kind=r.kind, external_id=r.external_id,
                op=r.op, version=r.version, content_hash=r.content_hash, run_id=r.run_id, at=r.at,
            )
            for r in rows
        ]

    def max_change_id(self) -> int:
        """The newest change record's id (0 when there is none)."""
        with self.read() as conn:
            return int(conn.execute(select(func.coalesce(func.max(changes.c.id), 0))).scalar_one())

    def get_checkpoint(self, name: str) -> int:
        """A consumer's saved position (e.g. the last change id the rules saw); 0 when absent."""
        with self.read() as conn:
            value = conn.execute(select(checkpoints.c.value).where(checkpoints.c.name == name)).scalar()
        return 0 if value is None else int(value)

    def set_checkpoint(self, name: str, value: int) -> None:
        stmt = self.insert(checkpoints).values(name=name, value=int(value), updated_at=self.now())
        stmt = stmt.on_conflict_do_update(
            index_elements=[checkpoints.c.name],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        with self.write() as conn:
            conn.execute(stmt)

    # -- cursors -------------------------------------------------------------------------

    def get_cursor(self, connector: str, stream: str) -> dict[str, Any] | None:
        stmt = select(cursors.c.value).where(cursors.c.connector == connector, cursors.c.stream == stream)
        with self.read() as conn:
            return conn.execute(stmt).scalar()

    def set_cursor(self, connector: str, stream: str, value: Mapping[str, Any] | None) -> None:
        """Replace a stream's cursor outside a page (``None`` deletes it: the next run reads in full)."""
        with self.write() as conn:
            if value is None:
                conn.execute(delete(cursors).where(cursors.c.connector == connector, cursors.c.stream == stream))
                return
            stmt = self.insert(cursors).values(connector=connector, stream=stream, value=dict(value),
                                               updated_at=self.now())
            stmt = stmt.on_conflict_do_update(
                index_elements=[cursors.c.connector, cursors.c.stream],
                set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
            )
            conn.execute(stmt)

    def list_cursors(self, connector: str | None = None) -> list[CursorRow]:
        stmt = select(cursors).order_by(cursors.c.connector, cursors.c.stream)
        if connector is not None:
            stmt = stmt.where(cursors.c.connector == connector)
        with self.read() as conn:
            rows = conn.execute(stmt).all()
        return [CursorRow(r.connector, r.stream, r.value, r.updated_at) for r in rows]
