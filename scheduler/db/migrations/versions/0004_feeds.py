"""feeds: secret feed tokens and stored feed bodies

Revision ID: 0004_feeds
Revises: 0003_inbound
Create Date: 2026-11-27 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.db.types

revision: str = "0004_feeds"
down_revision: str | Sequence[str] | None = "0003_inbound"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("created_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_feed_tokens_token_hash")),
    )
    with op.batch_alter_table("feed_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_feed_tokens_owner", ["owner_kind", "owner_id"], unique=False)

    op.create_table(
        "stored_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("etag", sa.String(length=80), nullable=True),
        sa.Column("last_modified", scheduler.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("built_at", scheduler.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source_version", sa.String(length=120), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_feeds")),
        sa.UniqueConstraint("owner_kind", "owner_id", name=op.f("uq_stored_feeds_owner_kind")),
    )
    # Feeds check freshness by the newest updated_at of one owner's sessions on every poll.
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sessions_therapist_updated", ["therapist_id", "updated_at"], unique=False
        )
        batch_op.create_index(
            "ix_sessions_office_updated", ["office_id", "updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_office_updated")
        batch_op.drop_index("ix_sessions_therapist_updated")
    op.drop_table("stored_feeds")
    with op.batch_alter_table("feed_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_tokens_owner")
    op.drop_table("feed_tokens")
