"""client search: trigram indexes on the name and the phone number (PostgreSQL)

The front desk finds a client by any part of the name or number (`LIKE '%text%'`), which no
B-tree serves: on a 20x practice (32,000 clients) every search read the whole table, about
17 ms. GIN indexes of trigrams (the pg_trgm extension, part of PostgreSQL's own contrib
modules) answer the same search from the index. They are built in the migration's
transaction: the clients table is small (tens of thousands of rows take well under a second),
so writes to it wait that long, once, at release. SQLite has no trigram index and keeps
scanning, which an embedded practice's few thousand clients allow.

Revision ID: 0018_client_search
Revises: 0017_claim_indexes
Create Date: 2026-12-06 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_client_search"
down_revision: str | Sequence[str] | None = "0017_claim_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As models.practice.CLIENT_SEARCH_NAME renders it: the planner uses the index only for this
# very expression.
NAME = sa.text("lower(first_name || ' ' || last_name)")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).first()
    if available is None:
        raise RuntimeError(
            "client search needs PostgreSQL's pg_trgm extension, which this server does not "
            "have: install PostgreSQL's contrib modules (Debian: postgresql-contrib) and run "
            "`ipt-scheduler db upgrade` again"
        )
    # Trusted since PostgreSQL 13: the database's owner may create it without superuser.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_clients_search_name",
        "clients",
        [NAME],
        postgresql_using="gin",
        postgresql_ops={"lower(first_name || ' ' || last_name)": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_clients_search_phone",
        "clients",
        ["phone"],
        postgresql_using="gin",
        postgresql_ops={"phone": "gin_trgm_ops"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_clients_search_phone", table_name="clients")
    op.drop_index("ix_clients_search_name", table_name="clients")
    # The extension stays: other schemas in the database may use it.
