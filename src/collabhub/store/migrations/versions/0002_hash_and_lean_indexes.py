"""Content hashes taken over pydantic's JSON; drop the secondary indexes no query uses.

Every page insert paid for ``ix_entities_department``, ``ix_entities_project``,
``ix_entities_updated_at`` and ``ix_changes_run_id``; no read path filters or sorts on those
columns, so they only slowed the sync hot path down.

The content hash is now computed from the entity's pydantic JSON (``collabhub.model.content_hash``)
rather than from key-sorted JSON of its dump. Stored hashes are recomputed here so that the first
sync after the upgrade sees no change where nothing changed (otherwise every entity would
produce one spurious ``update`` and the sharing rules would deliver it). A row whose JSON no
longer validates keeps its hash: its next read counts as one update, which is the truth.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BATCH = 1000

_UNUSED_INDEXES = (
    ("ix_entities_department", "entities", ["department"]),
    ("ix_entities_project", "entities", ["project"]),
    ("ix_entities_updated_at", "entities", ["updated_at"]),
    ("ix_changes_run_id", "changes", ["run_id"]),
)


def upgrade() -> None:
    for name, table, _columns in _UNUSED_INDEXES:
        op.drop_index(name, table_name=table)
    _rehash_entities()


def downgrade() -> None:
    # The hashes stay in the new form: code of revision 0001 would count each entity as
    # updated once on its next read.
    for name, table, columns in _UNUSED_INDEXES:
        op.create_index(name, table, columns)


def _rehash_entities() -> None:
    from collabhub.model import content_hash, entity_from_data

    conn = op.get_bind()
    entities = sa.table("entities", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                        sa.column("data", JSON), sa.column("content_hash", sa.String))
    set_hash = (sa.update(entities).where(entities.c.id == sa.bindparam("b_id"))
                .values(content_hash=sa.bindparam("b_hash")))
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(entities.c.id, entities.c.kind, entities.c.data, entities.c.content_hash)
            .where(entities.c.id > last_id).order_by(entities.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        changed = []
        for row in rows:
            try:
                new_hash = content_hash(entity_from_data(row.kind, row.data))
            except Exception:  # no longer valid under today's model: left as it is
                continue
            if new_hash != row.content_hash:
                changed.append({"b_id": row.id, "b_hash": new_hash})
        if changed:
            conn.execute(set_hash, changed)
        last_id = rows[-1].id
