"""indexes: the claim's due texts of any office, the conflict check's time window

Found with bench/explain.py on a 60x practice (bench/READS.md, "EXPLAIN on a 60x practice").

Revision ID: 0016_indexes
Revises: 0012_phone_consent (re-chained onto main's head when main was merged)
Create Date: 2026-12-04 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_indexes"
down_revision: str | Sequence[str] | None = "0012_phone_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_outbound_messages_pending_send",
        "outbound_messages",
        ["send_at", "id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index("ix_sessions_starts_at", "sessions", ["starts_at"])


def downgrade() -> None:
    op.drop_index("ix_sessions_starts_at", table_name="sessions")
    op.drop_index("ix_outbound_messages_pending_send", table_name="outbound_messages")
