"""A pooled PostgreSQL connection is pinged before it is lent only after sitting idle.

`db.session.ping_after_idle`: a connection that died in the pool (here its backend is
terminated, as a restart or an idle timeout would) is found out by the ping and replaced
before anything uses it; a connection handed back a moment ago is lent without a round trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, exc, text

from scheduler.db import session as db_session
from scheduler.db.session import make_engine


@pytest.fixture
def pg_engine(engine: Engine, database_url: str) -> Iterator[Engine]:
    if engine.dialect.name != "postgresql":
        pytest.skip("the pool's ping is for PostgreSQL (SQLite has no server to lose)")
    eng = make_engine(database_url, pool_size=1, max_overflow=0)
    yield eng
    eng.dispose()


@pytest.fixture
def pings(pg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every ping the pool sends, counted."""
    sent: list[Any] = []
    ping = pg_engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        sent.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(pg_engine.dialect, "do_ping", counting)
    return sent


def _backend(eng: Engine) -> int:
    with eng.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def _terminate(other: Engine, pid: int) -> None:
    # Autocommit: each query sees pg_stat_activity afresh (a transaction keeps one snapshot).
    with other.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # Wait until the server has really let it go.
        for _ in range(200):
            gone = not conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
            if gone:
                return
            conn.execute(text("SELECT pg_sleep(0.01)"))
    raise AssertionError(f"backend {pid} still there")


def test_a_connection_used_a_moment_ago_is_lent_without_a_ping(
    pg_engine: Engine, pings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_session, "IDLE_BEFORE_PING_S", 60.0)
    first = _backend(pg_engine)  # connects: nothing to ping
    for _ in range(5):
        assert _backend(pg_engine) == first  # the same connection, lent again at once
    assert pings == []


def test_a_connection_that_sat_idle_is_pinged_first(
    pg_engine: Engine, pings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(pg_engine)
    monkeypatch.setattr(db_session, "IDLE_BEFORE_PING_S", 0.0)
    assert _backend(pg_engine) == first  # alive: the ping passed, the connection is kept
    assert len(pings) == 1


def test_a_connection_that_died_in_the_pool_is_replaced_before_use(
    pg_engine: Engine, engine: Engine, pings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(pg_engine)
    _terminate(engine, first)
    monkeypatch.setattr(db_session, "IDLE_BEFORE_PING_S", 0.0)
    second = _backend(pg_engine)  # no error: the ping failed and the pool connected afresh
    assert second != first
    assert len(pings) == 1


def test_without_the_idle_time_a_dead_connection_fails_one_use_then_recovers(
    pg_engine: Engine, engine: Engine, pings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The price of skipping the ping on a busy connection, and its bound: one failed use."""
    monkeypatch.setattr(db_session, "IDLE_BEFORE_PING_S", 60.0)
    first = _backend(pg_engine)
    _terminate(engine, first)
    with pytest.raises(exc.DBAPIError) as failed:
        _backend(pg_engine)
    assert failed.value.connection_invalidated  # SQLAlchemy saw a lost connection
    assert _backend(pg_engine) != first
    assert pings == []
