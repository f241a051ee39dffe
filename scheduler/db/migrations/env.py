"""Alembic environment: the URL comes from the caller (cli `db upgrade`), never from a file."""

from __future__ import annotations

from alembic import context

from scheduler.db.models import Base
from scheduler.db.models.base import compared_on
from scheduler.db.session import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
        # Autogenerate leaves out what exists on the other database only (models.base.only_on).
        include_object=compared_on(connection.dialect.name),  # type: ignore[attr-defined]
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `ipt-scheduler db upgrade`")
run_migrations_online()
