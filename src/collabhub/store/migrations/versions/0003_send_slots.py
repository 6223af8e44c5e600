"""``send_slots``: a send-rate window shared by every process on the store.

One row per message sent under a key (e.g. one DingTalk group robot); a remote throttle is
stored as rows that leave the window when the throttle ends. See ``collabhub.store.slots``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_slots",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_send_slots_key_at", "send_slots", ["key", "at"])


def downgrade() -> None:
    op.drop_index("ix_send_slots_key_at", table_name="send_slots")
    op.drop_table("send_slots")
