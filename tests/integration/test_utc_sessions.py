"""Every PostgreSQL connection talks UTC, and UTC columns read back as aware UTC anywhere.

`db.session._utc_session` sets the session's zone, whatever the server's (here forced to
Phoenix through the connection's options), so psycopg hands back Python's own UTC and
`UTCDateTime` passes values through unconverted. Correctness never depends on it: a value in
any other zone is converted (`test_a_column_read_in_another_zone_is_still_utc`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, literal, select, text
from sqlalchemy.dialects.postgresql import psycopg

from scheduler.db.session import make_engine
from scheduler.db.types import UTCDateTime

INSTANT = datetime(2027, 3, 14, 9, 30, tzinfo=UTC)  # the morning of the DST change


@pytest.fixture
def phoenix_server_engine(engine: Engine, database_url: str) -> Iterator[Engine]:
    if engine.dialect.name != "postgresql":
        pytest.skip("session time zones are PostgreSQL's")
    eng = make_engine(database_url, connect_args={"options": "-c TimeZone=America/Phoenix"})
    yield eng
    eng.dispose()


def test_a_connection_talks_utc_whatever_the_servers_zone(phoenix_server_engine: Engine) -> None:
    with phoenix_server_engine.connect() as conn:
        assert conn.scalar(text("SHOW TimeZone")) == "UTC"
        raw = conn.scalar(text("SELECT CAST(:at AS timestamptz)"), {"at": INSTANT})
    assert raw == INSTANT
    assert raw.tzinfo is UTC  # Python's own: nothing left to convert


def test_a_column_reads_back_as_the_same_aware_utc_instant(engine: Engine) -> None:
    with engine.connect() as conn:
        value = conn.scalar(select(literal(INSTANT, UTCDateTime())))
    assert value == INSTANT
    assert value.tzinfo is UTC


def test_a_column_read_in_another_zone_is_still_utc() -> None:
    """What a connection without the SET (a pooler that dropped it) would hand back."""
    process = UTCDateTime().result_processor(psycopg.dialect(), None)
    phoenix = INSTANT.astimezone(ZoneInfo("America/Phoenix"))
    naive = INSTANT.replace(tzinfo=None)
    for given in (phoenix, naive, INSTANT):
        value = process(given)
        assert value == INSTANT and value.tzinfo is UTC
    assert process(None) is None
