"""phone consent: opt-out and opt-in belong to the phone number, with their history

Revision ID: 0012_phone_consent
Revises: 0013_notice_facts (re-chained after main gained 0013; written against 0011_frontdesk)
Create Date: 2026-12-04 22:20:00

Existing opt-outs on client records move to the numbers they were texted from (the earliest
opt-out of a number wins), each with one history event of source "migration"; then the client
column goes. Downgrade puts each number's state back on every client with that number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import scheduler.db.types

revision: str = "0012_phone_consent"
down_revision: str | Sequence[str] | None = "0014_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = scheduler.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    consents = op.create_table(
        "phone_consents",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("opted_out_at", _UTC, nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_phone_consents")),
    )
    events = op.create_table(
        "phone_consent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("event", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("inbound_message_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=254), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", _UTC, nullable=False),
        sa.CheckConstraint(
            "event IN ('opt_out', 'opt_in')", name=op.f("ck_phone_consent_events_event")
        ),
        sa.ForeignKeyConstraint(
            ["inbound_message_id"],
            ["inbound_messages.id"],
            name=op.f("fk_phone_consent_events_inbound_message_id_inbound_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_consent_events")),
    )
    with op.batch_alter_table("phone_consent_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_consent_events_phone"), ["phone"])
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    conn = op.get_bind()
    clients = sa.table("clients", sa.column("phone", sa.String()), sa.column("opted_out_at", _UTC))
    earliest = conn.execute(
        sa.select(clients.c.phone, sa.func.min(clients.c.opted_out_at))
        .where(clients.c.opted_out_at.is_not(None))
        .group_by(clients.c.phone)
    ).all()
    now = datetime.now(UTC)
    if earliest:
        op.bulk_insert(
            consents,
            [{"phone": phone, "opted_out_at": at, "updated_at": now} for phone, at in earliest],
        )
        op.bulk_insert(
            events,
            [
                {
                    "phone": phone,
                    "event": "opt_out",
                    "source": "migration",
                    "inbound_message_id": None,
                    "recorded_by": "migration 0012_phone_consent",
                    "note": "opted out on a client record before consent followed the number",
                    "at": at,
                }
                for phone, at in earliest
            ],
        )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("opted_out_at")


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opted_out_at", _UTC, nullable=True))
    conn = op.get_bind()
    clients = sa.table("clients", sa.column("phone", sa.String()), sa.column("opted_out_at", _UTC))
    consents = sa.table(
        "phone_consents", sa.column("phone", sa.String()), sa.column("opted_out_at", _UTC)
    )
    conn.execute(
        sa.update(clients).values(
            opted_out_at=sa.select(consents.c.opted_out_at)
            .where(consents.c.phone == clients.c.phone)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_column("urgent")
    with op.batch_alter_table("phone_consent_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_consent_events_phone"))
    op.drop_table("phone_consent_events")
    op.drop_table("phone_consents")
