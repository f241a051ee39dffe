"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from scheduler.db.migrate import alembic_config
from scheduler.db.models import Base
from scheduler.db.models.base import compared_on

# SQLite cannot reflect an index on an expression, so Alembic leaves PostgreSQL's trigram
# index on the client's name out of SQLite's comparison, saying so (models.base.only_on).
SQLITE_SKIPS_EXPRESSION_INDEX = pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index 'ix_clients_search"
)


@SQLITE_SKIPS_EXPRESSION_INDEX
def test_migrated_schema_matches_models(engine):
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": compared_on(conn.dialect.name)}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], "models and migrations disagree; write a migration:\n" + "\n".join(
        map(str, diff)
    )


def test_migrations_form_one_line(engine):
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    for revision in script.walk_revisions():
        assert revision.down_revision is None or isinstance(revision.down_revision, str)


@SQLITE_SKIPS_EXPRESSION_INDEX
def test_downgrade_to_base_and_up_again(tmp_path):
    """Every migration can be undone, so a bad release can be rolled back."""
    from alembic import command

    from scheduler.db.migrate import upgrade
    from scheduler.db.session import make_engine

    eng = make_engine(f"sqlite:///{tmp_path}/roundtrip.sqlite3")
    upgrade(eng)
    cfg = alembic_config(str(eng.url))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    upgrade(eng)
    with eng.connect() as conn:
        opts = {"compare_type": True, "include_object": compared_on(conn.dialect.name)}
        context = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(context, Base.metadata) == []
    eng.dispose()
