"""Initial schema: entities, changes, cursors, runs, locks, quarantine, outbox, links, identity.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's portable column types (collabhub.store.schema).
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_checkpoints")),
    )
    op.create_table(
        "cursors",
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("connector", "stream", name=op.f("pk_cursors")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("outbox_id", ID, nullable=True),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("receiver", sa.String(), nullable=False),
        sa.Column("entity_connector", sa.String(), nullable=False),
        sa.Column("entity_kind", sa.String(), nullable=False),
        sa.Column("entity_external_id", sa.String(), nullable=False),
        sa.Column("entity_version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("target_connector", sa.String(), nullable=False),
        sa.Column("target_external_id", sa.String(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("fields_sent", JSON, nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index(op.f("ix_deliveries_at"), "deliveries", ["at"])
    op.create_index(op.f("ix_deliveries_receiver"), "deliveries", ["receiver"])
    op.create_index(op.f("ix_deliveries_rule"), "deliveries", ["rule"])

    op.create_table(
        "entities",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("department", sa.String(), nullable=True),
        sa.Column("project", sa.String(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_changed", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
        sa.UniqueConstraint("external_id", "connector", "kind", name="uq_entities_key"),
    )
    op.create_index(op.f("ix_entities_department"), "entities", ["department"])
    op.create_index("ix_entities_kind_id", "entities", ["kind", "id"])
    op.create_index(op.f("ix_entities_project"), "entities", ["project"])
    op.create_index(op.f("ix_entities_updated_at"), "entities", ["updated_at"])

    op.create_table(
        "identity_review",
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("ref", JSON, nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("candidates", JSON, nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "external_id", name=op.f("pk_identity_review")),
    )
    op.create_table(
        "inbound_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_events")),
    )
    op.create_index(op.f("ix_inbound_events_event_type"), "inbound_events", ["event_type"])

    op.create_table(
        "links",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("entity_connector", sa.String(), nullable=False),
        sa.Column("entity_kind", sa.String(), nullable=False),
        sa.Column("entity_external_id", sa.String(), nullable=False),
        sa.Column("target_connector", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("receiver", sa.String(), nullable=False),
        sa.Column("target_external_id", sa.String(), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.String(), nullable=True),
        sa.Column("created", TS, nullable=False),
        sa.Column("updated", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.UniqueConstraint(
            "entity_connector",
            "entity_kind",
            "entity_external_id",
            "target_connector",
            "channel",
            "receiver",
            name="uq_links_entity_target",
        ),
    )
    op.create_index("ix_links_target_connector_channel_receiver", "links", ["target_connector", "channel", "receiver"])
    op.create_index("ix_links_target", "links", ["target_external_id", "target_connector"])

    op.create_table(
        "locks",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("acquired_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("target_connector", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("target", JSON, nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("receiver", sa.String(), nullable=False),
        sa.Column("entity_connector", sa.String(), nullable=False),
        sa.Column("entity_kind", sa.String(), nullable=False),
        sa.Column("entity_external_id", sa.String(), nullable=False),
        sa.Column("entity_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])

    op.create_table(
        "people",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("mobile", sa.String(), nullable=True),
        sa.Column("employee_id", sa.String(), nullable=True),
        sa.Column("departments", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_index(op.f("ix_people_email"), "people", ["email"])
    op.create_index(op.f("ix_people_employee_id"), "people", ["employee_id"])
    op.create_index(op.f("ix_people_mobile"), "people", ["mobile"])

    op.create_table(
        "quarantine",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", JSON, nullable=True),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index("ix_quarantine_record", "quarantine", ["external_id", "connector"])
    op.create_index("ix_quarantine_resolved_connector", "quarantine", ["resolved", "connector"])

    op.create_table(
        "refresh_requests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_requests")),
        sa.UniqueConstraint(
            "connector", "kind", "external_id", name=op.f("uq_refresh_requests_connector_kind_external_id")
        ),
    )
    op.create_table(
        "runs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index("ix_runs_connector_id", "runs", ["connector", "id"])

    op.create_table(
        "seen_events",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("source", "event_id", name=op.f("pk_seen_events")),
    )
    op.create_index(op.f("ix_seen_events_expires_at"), "seen_events", ["expires_at"])

    op.create_table(
        "changes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("entity_id", ID, nullable=False),
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("op", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_changes_entity_id_entities"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changes")),
    )
    op.create_index(op.f("ix_changes_entity_id"), "changes", ["entity_id"])
    op.create_index(op.f("ix_changes_run_id"), "changes", ["run_id"])

    op.create_table(
        "person_identities",
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("matched_by", sa.String(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_person_identities_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("external_id", "connector", name=op.f("pk_person_identities")),
    )
    op.create_index(op.f("ix_person_identities_person_id"), "person_identities", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_person_identities_person_id"), table_name="person_identities")

    op.drop_table("person_identities")
    op.drop_index(op.f("ix_changes_run_id"), table_name="changes")
    op.drop_index(op.f("ix_changes_entity_id"), table_name="changes")

    op.drop_table("changes")
    op.drop_index(op.f("ix_seen_events_expires_at"), table_name="seen_events")

    op.drop_table("seen_events")
    op.drop_index("ix_runs_connector_id", table_name="runs")

    op.drop_table("runs")
    op.drop_table("refresh_requests")
    op.drop_index("ix_quarantine_resolved_connector", table_name="quarantine")
    op.drop_index("ix_quarantine_record", table_name="quarantine")

    op.drop_table("quarantine")
    op.drop_index(op.f("ix_people_mobile"), table_name="people")
    op.drop_index(op.f("ix_people_employee_id"), table_name="people")
    op.drop_index(op.f("ix_people_email"), table_name="people")

    op.drop_table("people")
    op.drop_index("ix_outbox_status_next_attempt_at", table_name="outbox")

    op.drop_table("outbox")
    op.drop_table("locks")
    op.drop_index("ix_links_target", table_name="links")
    op.drop_index("ix_links_target_connector_channel_receiver", table_name="links")

    op.drop_table("links")
    op.drop_index(op.f("ix_inbound_events_event_type"), table_name="inbound_events")

    op.drop_table("inbound_events")
    op.drop_table("identity_review")
    op.drop_index(op.f("ix_entities_updated_at"), table_name="entities")
    op.drop_index(op.f("ix_entities_project"), table_name="entities")
    op.drop_index("ix_entities_kind_id", table_name="entities")
    op.drop_index(op.f("ix_entities_department"), table_name="entities")

    op.drop_table("entities")
    op.drop_index(op.f("ix_deliveries_rule"), table_name="deliveries")
    op.drop_index(op.f("ix_deliveries_receiver"), table_name="deliveries")
    op.drop_index(op.f("ix_deliveries_at"), table_name="deliveries")

    op.drop_table("deliveries")
    op.drop_table("cursors")
    op.drop_table("checkpoints")
