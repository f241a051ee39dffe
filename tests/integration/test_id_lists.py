"""Lists of ids as statement parameters (`db.sql.one_of`, the batched UPDATEs' id columns).

On PostgreSQL a list goes as one array literal, joined in Python, instead of psycopg adapting
it element by element: the server must read back exactly the list given, empty lists and
NULLs included, and the planner must still see the values."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, literal, select, union_all
from sqlalchemy.orm import Session

from scheduler.db.models import TherapySession
from scheduler.db.sql import int_array, one_of

CASES = [[], [7], [3, 1, 2], list(range(1, 200)), [5, None, 6], [-4, 0, 2**31 - 1]]


def test_one_of_finds_exactly_the_ids_given(db: Session, engine: Engine) -> None:
    dialect = engine.dialect.name
    ids = union_all(*(select(literal(n).label("n")) for n in range(1, 30))).subquery()
    for wanted in ([], [4], [2, 9, 4], list(range(1, 40)), (n for n in (3, 5))):
        wanted = list(wanted)
        found = db.execute(select(ids.c.n).where(one_of(dialect, ids.c.n, "ids")), {"ids": wanted})
        assert sorted(n for (n,) in found) == sorted(n for n in wanted if n < 30)


@pytest.fixture
def postgresql(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("the array literal is PostgreSQL's (SQLite expands the list)")
    return engine


@pytest.mark.parametrize("given", CASES)
def test_the_server_reads_back_the_list_given(db: Session, postgresql: Engine, given: list) -> None:
    read = select(func.unnest(int_array("ids")))
    assert [n for (n,) in db.execute(read, {"ids": given})] == given


def test_only_whole_numbers_reach_the_literal(db: Session, postgresql: Engine) -> None:
    with pytest.raises(Exception):  # noqa: B017 - int() refuses it before anything is sent
        db.execute(select(func.unnest(int_array("ids"))), {"ids": ["1}, {2"]})
    db.rollback()


def test_the_planner_sees_the_values(db: Session, postgresql: Engine) -> None:
    """The statement types the parameter as the array itself: a literal cast at run time
    (CAST(:ids AS INTEGER[])) would hide the values from the planner, which then guesses
    the rows and may choose a worse plan."""
    statement = select(TherapySession.id).where(one_of("postgresql", TherapySession.id, "ids"))
    sql = str(statement.compile(dialect=postgresql.dialect))
    assert "%(ids)s::INTEGER[]" in sql and "CAST" not in sql
    bind = int_array("ids").type.bind_processor(postgresql.dialect)
    plan = db.connection().exec_driver_sql("EXPLAIN " + sql, {"ids": bind([1, 2, 3])})
    assert "rows=3 " in "\n".join(row[0] for row in plan)
