"""course: maintenance series, measure plans, measures and their forms, risk alerts

Revision ID: 0009_course
Revises: 0006_access
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.db.types

revision: str = "0009_course"
down_revision: str | Sequence[str] | None = "0006_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "measure_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=True),
        sa.Column("instruments", sa.JSON(), nullable=False),
        sa.Column("created_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column("expires_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('office', 'link')", name=op.f("ck_measure_forms_purpose")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_measure_forms_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_forms")),
        sa.UniqueConstraint("nonce", name=op.f("uq_measure_forms_nonce")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_measure_forms_token_hash")),
    )
    with op.batch_alter_table("measure_forms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_measure_forms_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=10), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("difficulty", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=254), nullable=True),
        sa.Column("taken_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_measures_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["series_id"], ["series.id"], name=op.f("fk_measures_series_id_series")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_measures_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measures")),
        sa.UniqueConstraint("session_id", "instrument", name=op.f("uq_measures_session_id")),
    )
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measures_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "ix_measures_series_instrument", ["series_id", "instrument", "taken_at"], unique=False
        )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("created_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=254), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'acknowledged')", name=op.f("ck_alerts_status")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_alerts_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_alerts_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_alerts_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["series_id"], ["series.id"], name=op.f("fk_alerts_series_id_series")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_alerts_session_id_sessions")
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["therapists.id"], name=op.f("fk_alerts_therapist_id_therapists")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("measure_id", name=op.f("uq_alerts_measure_id")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alerts_open_therapist",
            ["therapist_id"],
            unique=False,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.create_index(batch_op.f("ix_alerts_series_id"), ["series_id"], unique=False)

    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("admins_only", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            "uq_inbox_items_open_offer",
            ["series_id"],
            unique=True,
            postgresql_where=sa.text("status = 'open' AND kind = 'offer_maintenance'"),
            sqlite_where=sa.text("status = 'open' AND kind = 'offer_maintenance'"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_inbox_items_series_id_series"), "series", ["series_id"], ["id"]
        )

    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="acute", nullable=False)
        )
        batch_op.add_column(
            sa.Column("cadence_weeks", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("continues_series_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "measure_schedule", sa.String(length=20), server_default="standard", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("measure_gad7", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_series_continues_series_id"), ["continues_series_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_series_continues_series_id_series"),
            "series",
            ["continues_series_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_series_continues_series_id_series"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_series_continues_series_id"))
        batch_op.drop_column("measure_gad7")
        batch_op.drop_column("measure_schedule")
        batch_op.drop_column("continues_series_id")
        batch_op.drop_column("cadence_weeks")
        batch_op.drop_column("kind")

    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_inbox_items_series_id_series"), type_="foreignkey")
        batch_op.drop_index(
            "uq_inbox_items_open_offer",
            postgresql_where=sa.text("status = 'open' AND kind = 'offer_maintenance'"),
            sqlite_where=sa.text("status = 'open' AND kind = 'offer_maintenance'"),
        )
        batch_op.drop_column("admins_only")
        batch_op.drop_column("series_id")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_series_id"))
        batch_op.drop_index(
            "ix_alerts_open_therapist",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )

    op.drop_table("alerts")
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.drop_index("ix_measures_series_instrument")
        batch_op.drop_index(batch_op.f("ix_measures_client_id"))

    op.drop_table("measures")
    with op.batch_alter_table("measure_forms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_forms_session_id"))

    op.drop_table("measure_forms")
