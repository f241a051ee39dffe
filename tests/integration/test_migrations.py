"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from scheduler.db.migrate import alembic_config
from scheduler.db.models import Base


def test_migrated_schema_matches_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], "models and migrations disagree; write a migration:\n" + "\n".join(
        map(str, diff)
    )


def test_migrations_form_one_line(engine):
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    for revision in script.walk_revisions():
        assert revision.down_revision is None or isinstance(revision.down_revision, str)


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
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    eng.dispose()
