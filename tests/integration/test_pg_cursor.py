"""db.pg_cursor: PostgreSQL connections' cursors describe their results as psycopg's own do,
building the columns only when read."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine

from scheduler.db.pg_cursor import LazyDescriptionCursor


@pytest.fixture
def cursors(engine: Engine) -> Iterator[tuple[psycopg.Cursor, psycopg.Cursor]]:
    """Ours, from the suite's engine (`db.session.make_engine`), and psycopg's plain one on
    the same connection; whatever they do is rolled back."""
    if engine.dialect.name != "postgresql":
        pytest.skip("TEST_DATABASE_URL is not set: the cursor is psycopg's (PostgreSQL)")
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        ours = raw.cursor()
        plain = psycopg.Cursor(raw)
        yield ours, plain
        ours.close()
        plain.close()


STATEMENTS = [
    "SELECT 1 AS one, 'x'::varchar(5) AS label, now() AS at, ARRAY[1, 2] AS ids",
    "SELECT 1 AS one WHERE false",  # columns, no rows
    "SELECT",  # rows without columns: psycopg still describes them (an empty list)
    "SET LOCAL statement_timeout = '5s'",  # no result set: no description
    "CREATE TEMPORARY TABLE IF NOT EXISTS scratch_t (id int)",
    "INSERT INTO scratch_t VALUES (1), (2)",
    "INSERT INTO scratch_t VALUES (3) RETURNING id",
    "UPDATE scratch_t SET id = id + 1",
]


def test_the_engines_connections_hand_out_the_lazy_cursor(cursors):
    ours, _plain = cursors
    assert type(ours) is LazyDescriptionCursor


def test_each_statement_is_described_as_psycopg_describes_it(cursors):
    ours, plain = cursors
    for statement in STATEMENTS:
        plain.execute(statement)
        expected = plain.description
        ours.execute(statement)
        found = ours.description
        if expected is None:
            assert found is None, statement
            continue
        assert found is not None, statement
        assert len(found) == len(expected), statement
        assert [tuple(c) for c in found] == [tuple(c) for c in expected], statement
        assert [c.name for c in found[:2]] == [c.name for c in expected[:2]]


def test_no_column_is_built_until_one_is_read(cursors, monkeypatch: pytest.MonkeyPatch):
    ours, _plain = cursors
    built: list[int] = []
    real = psycopg.Column.__init__

    def counting(self, cursor, index):
        built.append(index)
        real(self, cursor, index)

    monkeypatch.setattr(psycopg.Column, "__init__", counting)
    ours.execute(STATEMENTS[0])
    description = ours.description
    assert description is not None and len(description) == 4 and built == []
    assert description[3].name == "ids"
    assert built == [0, 1, 2, 3]  # all at once, then kept
    assert [c.name for c in description] == ["one", "label", "at", "ids"]
    assert built == [0, 1, 2, 3]


def test_a_description_read_after_the_next_statement_says_so(cursors):
    ours, _plain = cursors
    ours.execute("SELECT 1 AS first")
    stale = ours.description
    ours.execute("SELECT 2 AS second, 3 AS third")
    with pytest.raises(RuntimeError, match="ran another statement"):
        list(stale)
    assert [c.name for c in ours.description] == ["second", "third"]
