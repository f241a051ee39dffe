"""frontdesk: merged client records, attendance marks and late cancels, inbox read markers

Revision ID: 0011_frontdesk
Revises: 0009_course
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.db.types

revision: str = "0011_frontdesk"
down_revision: str | Sequence[str] | None = "0009_course"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("merged_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_clients_merged_into_id"), ["merged_into_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_clients_merged_into_id_clients"), "clients", ["merged_into_id"], ["id"]
        )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("late_cancel", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("marked_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("marked_by", sa.String(length=254), nullable=True))
    op.create_table(
        "inbox_reads",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("read_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["inbox_items.id"],
            name=op.f("fk_inbox_reads_item_id_inbox_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_inbox_reads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "item_id", name=op.f("pk_inbox_reads")),
    )
    with op.batch_alter_table("inbox_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_reads_item_id"), ["item_id"])


def downgrade() -> None:
    with op.batch_alter_table("inbox_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_reads_item_id"))
    op.drop_table("inbox_reads")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("marked_by")
        batch_op.drop_column("marked_at")
        batch_op.drop_column("late_cancel")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_clients_merged_into_id_clients"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_clients_merged_into_id"))
        batch_op.drop_column("merged_at")
        batch_op.drop_column("merged_into_id")
