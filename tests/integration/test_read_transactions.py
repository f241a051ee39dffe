"""A request's transaction that only read ends with COMMIT; anything else is rolled back.

psycopg forgets its prepared statements at every ROLLBACK, so reads ending that way made
PostgreSQL plan every statement again (`db.session.close_reading`). These run on an engine of
their own, outside the per-test transaction, and leave nothing behind: every write is rolled
back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.orm import Session

from scheduler.db.models import AuditEntry, Office
from scheduler.db.session import close_reading, make_engine, make_session_factory
from scheduler.db.types import utcnow


@pytest.fixture
def own_engine(engine: Engine, database_url: str) -> Iterator[Engine]:
    """An engine as the app builds it, on the test run's (migrated) database."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def ends(own_engine: Engine) -> Iterator[list[str]]:
    """How each transaction ended: "commit" or "rollback"."""
    seen: list[str] = []

    def on_commit(_conn: object) -> None:
        seen.append("commit")

    def on_rollback(_conn: object) -> None:
        seen.append("rollback")

    event.listen(own_engine, "commit", on_commit)
    event.listen(own_engine, "rollback", on_rollback)
    yield seen
    event.remove(own_engine, "commit", on_commit)
    event.remove(own_engine, "rollback", on_rollback)


def _audit_rows(engine: Engine) -> int:
    with Session(engine) as db:
        mine = select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == "t")
        return db.scalar(mine) or 0


def test_a_transaction_that_only_read_commits(own_engine: Engine, ends: list[str]) -> None:
    db = make_session_factory(own_engine)()
    db.scalars(select(Office)).all()
    db.execute(select(Office.id).where(Office.id == "folsom").with_for_update()).all()
    close_reading(db)
    assert ends[:1] == ["commit"]


def test_a_write_sent_and_not_committed_is_rolled_back(own_engine: Engine, ends: list[str]) -> None:
    db = make_session_factory(own_engine)()
    db.scalars(select(Office)).all()
    row = {"at": utcnow(), "actor": "t", "action": "x", "entity": "x", "entity_id": "1"}
    db.connection().execute(insert(AuditEntry).values(row))
    close_reading(db)
    assert ends[:1] == ["rollback"]
    assert _audit_rows(own_engine) == 0


def test_orm_changes_not_flushed_are_rolled_back(own_engine: Engine, ends: list[str]) -> None:
    db = make_session_factory(own_engine)()
    db.scalars(select(Office)).all()
    db.add(AuditEntry(actor="t", action="x", entity="x", entity_id="1", details={}))
    close_reading(db)
    assert ends[:1] == ["rollback"]
    assert _audit_rows(own_engine) == 0


def test_a_data_modifying_statement_in_text_counts_as_a_write(
    own_engine: Engine, ends: list[str]
) -> None:
    db = make_session_factory(own_engine)()
    db.execute(text("UPDATE offices SET name = name WHERE id = 'folsom'"))
    close_reading(db)
    assert ends[:1] == ["rollback"]


def test_a_session_without_a_transaction_just_closes(own_engine: Engine, ends: list[str]) -> None:
    db = make_session_factory(own_engine)()
    close_reading(db)
    assert ends == []


def test_reads_stay_prepared_across_requests_on_postgresql(own_engine: Engine) -> None:
    """The point of it all: after a few requests, PostgreSQL runs the read as prepared."""
    if own_engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are psycopg's (PostgreSQL)")
    factory = make_session_factory(own_engine)
    query = select(Office.id).where(Office.id == "folsom")
    for _ in range(8):  # psycopg prepares a statement on its fifth run on a connection
        db = factory()
        db.execute(query).all()
        close_reading(db)
    db = factory()
    prepared = db.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
    close_reading(db)
    assert any("FROM offices" in s for s in prepared), prepared
