"""messaging: outbound texts and each sender's rate-limit clock

Revision ID: 0002_messaging
Revises: 0001_foundation
Create Date: 2026-11-27 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.db.types

revision: str = "0002_messaging"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = scheduler.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("send_at", UTC(timezone=True), nullable=True),
        sa.Column("expires_at", UTC(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC(timezone=True), nullable=True),
        sa.Column("claimed_at", UTC(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("session_revision", sa.Integer(), nullable=True),
        sa.Column("session_starts_at", UTC(timezone=True), nullable=True),
        sa.Column("to_number", sa.String(length=20), nullable=True),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("provider_status", sa.String(length=20), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("prompt_id", sa.String(length=60), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("sent_at", UTC(timezone=True), nullable=True),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_outbound_messages_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_outbound_messages_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["series_id"], ["series.id"], name=op.f("fk_outbound_messages_series_id_series")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_outbound_messages_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_messages")),
        sa.UniqueConstraint("provider_sid", name=op.f("uq_outbound_messages_provider_sid")),
    )
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbound_messages_due",
            ["office_id", "send_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "ix_outbound_messages_sending",
            ["claimed_at"],
            unique=False,
            postgresql_where=sa.text("status = 'sending'"),
            sqlite_where=sa.text("status = 'sending'"),
        )
        batch_op.create_index(
            "ix_outbound_messages_client_status", ["client_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbound_messages_series_id"), ["series_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbound_messages_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "sms_senders",
        sa.Column("sender", sa.String(length=40), nullable=False),
        sa.Column("next_slot_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender", name=op.f("pk_sms_senders")),
    )


def downgrade() -> None:
    op.drop_table("sms_senders")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_messages_session_id"))
        batch_op.drop_index(batch_op.f("ix_outbound_messages_series_id"))
        batch_op.drop_index("ix_outbound_messages_client_status")
        batch_op.drop_index("ix_outbound_messages_sending")
        batch_op.drop_index("ix_outbound_messages_due")
    op.drop_table("outbound_messages")
