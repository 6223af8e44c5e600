"""The hot path: commit one page of entities, its change records and its cursor in one transaction.

Work per page is a fixed number of set-based statements (each IN list chunked at ~500 keys):
one SELECT of the existing rows, one links lookup for echo suppression, one id allocation and
one bulk INSERT (new rows get their ids up front, nothing is read back), one executemany UPDATE,
one bulk INSERT of change records, plus the deletes, sweep, quarantine and cursor statements when
the page carries them. Nothing is read or written row by row. Unchanged entities cost a hash
only: their JSON is never built.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement

from collabhub.model import Entity, EntityKind, content_hash, echo_fingerprint, entity_json
from collabhub.store.bulk import executemany
from collabhub.store.db import CHANGES_LOCK_KEY, JSONText, StoreBase, chunked
from collabhub.store.lookup import rows_by_external_id
from collabhub.store.rows import PageStats, QuarantineItem
from collabhub.store.schema import changes, cursors, entities, links, quarantine

__all__ = ["PageMixin"]

RAW_LIMIT = 64 * 1024  # characters of a quarantined raw record kept

# Hot-path statements (module level, so SQLAlchemy's compiled cache always hits).
_TOUCH_ENTITY = (
    update(entities)
    .where(entities.c.id == bindparam("b_id"))
    .values(data=bindparam("b_data"), updated_at=bindparam("b_updated_at"))
)
_EXISTING_COLUMNS = (entities.c.id, entities.c.external_id, entities.c.content_hash, entities.c.version,
                     entities.c.deleted, entities.c.updated_at)
_INSERT_ENTITIES = entities.insert()
# Per-page statements built once (building a Core statement per call costs more than running it).
_ANY_FINGERPRINT = (
    select(links.c.id)
    .where(links.c.target_connector == bindparam("connector"), links.c.fingerprint.is_not(None))
    .limit(1)
)
_FINGERPRINTS = select(links.c.target_external_id, links.c.fingerprint).where(
    links.c.target_connector == bindparam("connector"),
    links.c.target_external_id.in_(bindparam("ids", expanding=True)),
    links.c.fingerprint.is_not(None),
)


def _upsert_cursor(insert: Any) -> Any:
    stmt = insert(cursors).values(connector=bindparam("b_connector"), stream=bindparam("b_stream"),
                                  value=bindparam("b_value"), updated_at=bindparam("b_updated_at"))
    return stmt.on_conflict_do_update(
        index_elements=[cursors.c.connector, cursors.c.stream],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
    )


_UPSERT_CURSOR = {"sqlite": _upsert_cursor(sqlite_insert), "postgresql": _upsert_cursor(postgresql_insert)}
_ANY_OPEN_QUARANTINE = (
    select(quarantine.c.id)
    .where(quarantine.c.resolved.is_(False), quarantine.c.connector == bindparam("connector"))
    .limit(1)
)
_INSERT_CHANGES = changes.insert()
_UPDATE_ENTITY = (
    update(entities)
    .where(entities.c.id == bindparam("b_id"))
    .values(
        data=bindparam("b_data"), content_hash=bindparam("b_hash"), version=bindparam("b_version"),
        deleted=bindparam("b_deleted"), updated_at=bindparam("b_updated_at"),
        department=bindparam("b_department"), project=bindparam("b_project"),
        last_changed=bindparam("b_now"),
    )
)


@dataclass
class _Incoming:
    """One entity of the page, prepared for the database."""

    entity: Entity
    kind: str
    external_id: str
    hash: str
    deleted: bool
    own_time: datetime | None
    updated_at: datetime

    def json(self) -> JSONText:
        """The entity's JSON, encoded only for the rows actually written (unchanged ones skip it)."""
        return JSONText(entity_json(self.entity))


@dataclass
class _Existing:
    id: int
    content_hash: str
    version: int
    deleted: bool
    updated_at: datetime | None = None


def _own_time(entity: Entity) -> datetime | None:
    """The entity's own updated (or start) time, if it has one; dates count as midnight UTC."""
    fields = entity.__dict__  # not getattr: a missing field costs pydantic an exception
    for value in (fields.get("updated"), entity.source.updated, fields.get("start")):
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def _prepare(connector: str, batch: Sequence[Entity], now: datetime) -> dict[tuple[str, str], _Incoming]:
    """Key and content hash per entity; a key repeated within the page keeps its last occurrence."""
    prepared: dict[tuple[str, str], _Incoming] = {}
    for entity in batch:
        if entity.source.connector != connector:
            raise ValueError(
                f"entity {entity.key} belongs to connector {entity.source.connector!r}, "
                f"not {connector!r}: a page holds one connector's entities"
            )
        kind = str(entity.kind)
        item = _Incoming(
            entity=entity,
            kind=kind,
            external_id=entity.source.external_id,
            hash=content_hash(entity),
            deleted=entity.deleted,
            own_time=(own := _own_time(entity)),
            updated_at=own or now,
        )
        prepared[(kind, item.external_id)] = item
    return prepared


def _raw_json(raw: Any) -> Any:
    """A quarantined record as JSON, cut to :data:`RAW_LIMIT` characters when huge."""
    if raw is None:
        return None
    text = json.dumps(raw, ensure_ascii=False, default=str)
    if len(text) <= RAW_LIMIT:
        return json.loads(text)
    return {"truncated": True, "size": len(text), "head": text[:RAW_LIMIT]}


def _without_nul(item: QuarantineItem) -> QuarantineItem:
    """The id may be why the record failed: a NUL is kept as the text ``\\u0000`` (PostgreSQL
    refuses NUL in text)."""
    if "\x00" not in (item.external_id or "") + item.reason:
        return item
    external_id = item.external_id.replace("\x00", "\\u0000") if item.external_id else item.external_id
    return QuarantineItem(external_id, item.reason.replace("\x00", ""), item.raw)


def _by_kind(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for kind, external_id in keys:
        grouped.setdefault(kind, []).append(external_id)
    return grouped


class _PageWriter:
    """Applies one page inside an open write transaction; collects change records and stats."""

    def __init__(self, store: StoreBase, conn: Connection, connector: str, run_id: int | None, now: datetime) -> None:
        self.store = store
        self.conn = conn
        self.connector = connector
        self.run_id = run_id
        self.now = now
        self.stats = PageStats()
        self.change_rows: list[dict[str, Any]] = []

    # -- reads ---------------------------------------------------------------------------

    def existing(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], _Existing]:
        found: dict[tuple[str, str], _Existing] = {}
        for kind, ids in _by_kind(keys).items():
            for chunk in chunked(ids):
                rows = rows_by_external_id(self.conn, _EXISTING_COLUMNS, self.connector, kind, chunk)
                for entity_id, external_id, hash_, version, deleted, updated_at in rows:
                    found[(kind, external_id)] = _Existing(entity_id, hash_, version, bool(deleted), updated_at)
        return found

    def echo_keys(self, candidates: Sequence[_Incoming]) -> set[tuple[str, str]]:
        """Keys whose writer-controlled fields equal what the hub itself wrote there.

        Links are looked up first (one indexed query per chunk, none at all when the hub never
        wrote into this connector); fingerprints are computed only for the few entities the hub
        wrote, so a page of remote-only objects costs at most one query per chunk.
        """
        if not candidates:
            return set()
        if self.conn.execute(_ANY_FINGERPRINT, {"connector": self.connector}).first() is None:
            return set()
        written: dict[str, set[str]] = {}
        ids = sorted({c.external_id for c in candidates})
        for chunk in chunked(ids):
            for row in self.conn.execute(_FINGERPRINTS, {"connector": self.connector, "ids": list(chunk)}):
                written.setdefault(row.target_external_id, set()).add(row.fingerprint)
        if not written:
            return set()
        return {(c.kind, c.external_id) for c in candidates
                if c.external_id in written and echo_fingerprint(c.entity) in written[c.external_id]}

    # -- writes --------------------------------------------------------------------------

    def upsert(self, incoming: dict[tuple[str, str], _Incoming]) -> None:
        existing = self.existing(incoming)
        inserts: list[_Incoming] = []
        updates: list[tuple[_Incoming, _Existing]] = []
        touches: list[tuple[_Incoming, _Existing]] = []
        for key, item in incoming.items():
            old = existing.get(key)
            if old is None:
                if item.deleted:
                    continue  # a delete of something never stored: nothing to record
                inserts.append(item)
            elif (old.deleted and item.deleted) or (old.deleted == item.deleted and old.content_hash == item.hash):
                self.stats.unchanged += 1  # same content, or already marked deleted
                if not item.deleted and item.own_time is not None and item.own_time != old.updated_at:
                    touches.append((item, old))  # only the remote's updated stamp moved
            else:
                updates.append((item, old))

        echoes = self.echo_keys(inserts + [i for i, _ in updates if not i.deleted])
        self._insert(inserts, echoes)
        self._update(updates, echoes)
        self._touch(touches)

    def _touch(self, pairs: list[tuple[_Incoming, _Existing]]) -> None:
        """Keep the stored copy's ``updated`` stamp current without a version or a change record.

        A comment, a watcher or the hub's own status comment moves a remote's updated stamp
        without changing anything the hub models; the rules must not see a change (no
        ping-pong), but freshness reads when the item was last touched.
        """
        if not pairs:
            return
        executemany(self.conn, _TOUCH_ENTITY, [
            {"b_id": old.id, "b_data": item.json(), "b_updated_at": item.updated_at} for item, old in pairs])

    def _insert(self, items: list[_Incoming], echoes: set[tuple[str, str]]) -> None:
        if not items:
            return
        # ids allocated up front: no RETURNING (a round trip per row on SQLite) and no read-back
        ids = self.store.allocate_ids(self.conn, entities, len(items))
        rows = [
            {
                "id": entity_id, "connector": self.connector, "kind": i.kind, "external_id": i.external_id,
                "version": 1, "content_hash": i.hash, "deleted": False, "data": i.json(),
                "department": i.entity.department, "project": i.entity.project,
                "updated_at": i.updated_at, "first_seen": self.now, "last_changed": self.now,
            }
            for entity_id, i in zip(ids, items, strict=True)
        ]
        executemany(self.conn, _INSERT_ENTITIES, rows)
        for entity_id, item in zip(ids, items, strict=True):
            if (item.kind, item.external_id) in echoes:
                self.stats.echoes += 1
                continue
            self.stats.created += 1
            self._change(entity_id, item.kind, item.external_id, "create", 1, item.hash)

    def _update(self, pairs: list[tuple[_Incoming, _Existing]], echoes: set[tuple[str, str]]) -> None:
        if not pairs:
            return
        params = [
            {
                "b_id": old.id, "b_data": item.json(), "b_hash": item.hash, "b_version": old.version + 1,
                "b_deleted": item.deleted, "b_updated_at": item.updated_at, "b_department": item.entity.department,
                "b_project": item.entity.project, "b_now": self.now,
            }
            for item, old in pairs
        ]
        executemany(self.conn, _UPDATE_ENTITY, params)
        for item, old in pairs:
            key = (item.kind, item.external_id)
            if item.deleted:
                self.stats.deleted += 1
                op = "delete"
            elif key in echoes:
                self.stats.echoes += 1
                continue
            else:
                self.stats.updated += 1
                op = "update"
            self._change(old.id, item.kind, item.external_id, op, old.version + 1, item.hash)

    def mark_deleted(self, kind: str, where: ColumnElement[bool]) -> None:
        """Mark matching non-deleted rows of ``kind`` deleted (version + 1) and record the deletes."""
        stmt = (
            update(entities)
            .where(entities.c.connector == self.connector, entities.c.kind == kind,
                   entities.c.deleted.is_(False), where)
            .values(deleted=True, version=entities.c.version + 1, last_changed=self.now)
            .returning(entities.c.id, entities.c.external_id, entities.c.version, entities.c.content_hash)
        )
        for row in self.conn.execute(stmt):
            self.stats.deleted += 1
            self._change(row.id, kind, row.external_id, "delete", row.version, row.content_hash)

    def delete_ids(self, kind: str, external_ids: Sequence[str]) -> None:
        for chunk in chunked(sorted(set(external_ids))):
            self.mark_deleted(kind, entities.c.external_id.in_(chunk))

    def sweep(self, kind: str, present: frozenset[str]) -> None:
        """Everything of ``kind`` from this connector not in ``present`` is gone remotely."""
        stmt = select(entities.c.id, entities.c.external_id).where(
            entities.c.connector == self.connector, entities.c.kind == kind, entities.c.deleted.is_(False)
        )
        gone = [row.id for row in self.conn.execute(stmt) if row.external_id not in present]
        for chunk in chunked(gone):
            self.mark_deleted(kind, entities.c.id.in_(chunk))

    def _change(self, entity_id: int, kind: str, external_id: str, op: str, version: int, hash_: str) -> None:
        self.change_rows.append({
            "entity_id": entity_id, "connector": self.connector, "kind": kind, "external_id": external_id,
            "op": op, "version": version, "content_hash": hash_, "run_id": self.run_id, "at": self.now,
        })

    def write_changes(self) -> None:
        """Insert the change records; on PostgreSQL under a lock so change ids commit in order.

        Readers page through changes by ``id > checkpoint``: an id allocated earlier but
        committed later would be skipped, so concurrent pages serialise on this last step.
        """
        if not self.change_rows:
            return
        self.store.advisory_lock(self.conn, CHANGES_LOCK_KEY)
        executemany(self.conn, _INSERT_CHANGES, self.change_rows)

    def resolve_quarantine(self, external_ids: Sequence[str]) -> None:
        """Records that now map fine leave quarantine (marked resolved)."""
        if not external_ids:
            return
        if self.conn.execute(_ANY_OPEN_QUARANTINE, {"connector": self.connector}).first() is None:
            return
        for chunk in chunked(sorted(set(external_ids))):
            self.conn.execute(
                update(quarantine)
                .where(quarantine.c.connector == self.connector, quarantine.c.resolved.is_(False),
                       quarantine.c.external_id.in_(chunk))
                .values(resolved=True, resolved_at=self.now)
            )

    def add_quarantine(self, stream: str, items: Sequence[QuarantineItem]) -> None:
        """Insert quarantine rows; an unresolved older row for the same record is replaced."""
        if not items:
            return
        items = [_without_nul(i) for i in items]
        ids = sorted({i.external_id for i in items if i.external_id is not None})
        for chunk in chunked(ids):
            self.conn.execute(
                delete(quarantine).where(quarantine.c.connector == self.connector, quarantine.c.stream == stream,
                                         quarantine.c.resolved.is_(False), quarantine.c.external_id.in_(chunk))
            )
        rows = [
            {
                "connector": self.connector, "stream": stream, "reason": i.reason, "external_id": i.external_id,
                "raw": _raw_json(i.raw), "run_id": self.run_id, "at": self.now, "resolved": False,
                "resolved_at": None,
            }
            for i in items
        ]
        self.conn.execute(quarantine.insert(), rows)
        self.stats.quarantined += len(rows)

    def write_cursor(self, stream: str, value: Mapping[str, Any] | None, clear: bool) -> None:
        if clear:
            self.conn.execute(delete(cursors).where(cursors.c.connector == self.connector, cursors.c.stream == stream))
        if value is not None:
            stmt = _UPSERT_CURSOR["postgresql" if self.store.is_postgres else "sqlite"]
            self.conn.execute(stmt, {"b_connector": self.connector, "b_stream": stream, "b_value": dict(value),
                                     "b_updated_at": self.now})


class PageMixin(StoreBase):
    """``Store.apply_page``."""

    def apply_page(
        self,
        *,
        connector: str,
        stream: str,
        run_id: int | None,
        entities: Sequence[Entity],
        deleted: Sequence[tuple[EntityKind | str, str]] = (),
        sweep: tuple[EntityKind | str, frozenset[str]] | None = None,
        quarantine: Sequence[QuarantineItem] = (),
        cursor: Mapping[str, Any] | None = None,
        cursor_clear: bool = False,
    ) -> PageStats:
        """Commit one page atomically: entities, change records, deletions, quarantine and cursor.

        Unchanged entities (same content hash) write nothing; entities the hub itself wrote,
        unchanged since (echo fingerprint equals the link's), are stored without a change record.
        ``deleted`` ids not stored are ignored; ``sweep=(kind, present_ids)`` deletes every other
        stored id of that kind. ``cursor`` (when given) replaces the stream's cursor; ``cursor_clear``
        drops it. If anything fails, nothing of the page is kept.
        """
        now = self.now()
        incoming = _prepare(connector, entities, now)
        with self.write() as conn:
            writer = _PageWriter(self, conn, connector, run_id, now)
            writer.upsert(incoming)
            deletes = _by_kind((str(kind), external_id) for kind, external_id in deleted)
            for kind, ids in deletes.items():
                writer.delete_ids(kind, ids)
            if sweep is not None:
                kind = str(sweep[0])
                present = frozenset(sweep[1]) | {k[1] for k, i in incoming.items() if k[0] == kind and not i.deleted}
                writer.sweep(kind, present)
            writer.write_changes()
            writer.resolve_quarantine([i.external_id for i in incoming.values()])
            writer.add_quarantine(stream, quarantine)
            writer.write_cursor(stream, cursor, cursor_clear)
            return writer.stats
