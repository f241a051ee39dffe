"""inbound: texts from clients, office inboxes, weekly progress ratings

Revision ID: 0003_inbound
Revises: 0002_messaging
Create Date: 2026-11-27 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.db.types

revision: str = "0003_inbound"
down_revision: str | Sequence[str] | None = "0002_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = scheduler.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=False),
        sa.Column("account_sid", sa.String(length=64), nullable=True),
        sa.Column("from_number", sa.String(length=32), nullable=False),
        sa.Column("to_number", sa.String(length=32), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("num_media", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=20), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("reply_body", sa.Text(), nullable=True),
        sa.Column("received_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_inbound_messages_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_inbound_messages_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_inbound_messages_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("message_sid", name=op.f("uq_inbound_messages_message_sid")),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_messages_client_id"), ["client_id"])
        batch_op.create_index(batch_op.f("ix_inbound_messages_office_id"), ["office_id"])
        batch_op.create_index(batch_op.f("ix_inbound_messages_received_at"), ["received_at"])

    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("inbound_message_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("resolved_at", UTC(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=254), nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_inbox_items_status")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_inbox_items_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["inbound_message_id"],
            ["inbound_messages.id"],
            name=op.f("fk_inbox_items_inbound_message_id_inbound_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_inbox_items_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_inbox_items_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_items")),
    )
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_items_client_id"), ["client_id"])
        batch_op.create_index(
            batch_op.f("ix_inbox_items_inbound_message_id"), ["inbound_message_id"]
        )
        batch_op.create_index("ix_inbox_items_office_status", ["office_id", "status"])

    op.create_table(
        "progress_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("prompt_message_id", sa.Integer(), nullable=True),
        sa.Column("inbound_message_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("received_at", UTC(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_progress_ratings_rating_range")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_progress_ratings_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["inbound_message_id"],
            ["inbound_messages.id"],
            name=op.f("fk_progress_ratings_inbound_message_id_inbound_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_progress_ratings_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_ratings")),
        sa.UniqueConstraint(
            "inbound_message_id", name=op.f("uq_progress_ratings_inbound_message_id")
        ),
    )
    with op.batch_alter_table("progress_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_progress_ratings_client_id"), ["client_id"])
        batch_op.create_index(batch_op.f("ix_progress_ratings_session_id"), ["session_id"])


def downgrade() -> None:
    with op.batch_alter_table("progress_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_progress_ratings_session_id"))
        batch_op.drop_index(batch_op.f("ix_progress_ratings_client_id"))
    op.drop_table("progress_ratings")
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_items_office_status")
        batch_op.drop_index(batch_op.f("ix_inbox_items_inbound_message_id"))
        batch_op.drop_index(batch_op.f("ix_inbox_items_client_id"))
    op.drop_table("inbox_items")
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_messages_received_at"))
        batch_op.drop_index(batch_op.f("ix_inbound_messages_office_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_messages_client_id"))
    op.drop_table("inbound_messages")
