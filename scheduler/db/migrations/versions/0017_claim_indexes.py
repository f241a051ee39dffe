"""claim indexes: the head of the due queue read from the index alone, ties by id

The claim reads the oldest pending texts of every office together, in (send_at, id) order,
and needs each one's office and retry time: carried in the index, that read never visits the
table. The per-office index gains id, the tie-break between texts due at the same instant,
so an office's texts come out in the claim's order without a sort.

Revision ID: 0017_claim_indexes
Revises: 0015_client_language
Create Date: 2026-12-06 05:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_claim_indexes"
down_revision: str | Sequence[str] | None = "0015_client_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
TABLE = "outbound_messages"


def _replace(name: str, columns: list[str]) -> None:
    op.drop_index(name, table_name=TABLE)
    op.create_index(name, TABLE, columns, postgresql_where=PENDING, sqlite_where=PENDING)


def upgrade() -> None:
    _replace("ix_outbound_messages_due", ["office_id", "send_at", "id"])
    _replace("ix_outbound_messages_pending_send", ["send_at", "id", "office_id", "next_attempt_at"])


def downgrade() -> None:
    _replace("ix_outbound_messages_pending_send", ["send_at", "id"])
    _replace("ix_outbound_messages_due", ["office_id", "send_at"])
