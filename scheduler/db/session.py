"""Engine and session factories, built once at an edge (app, worker, CLI) and passed down."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from .pg_cursor import LazyDescriptionCursor


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets the settings that make it a safe embedded store.

    Statement parameters are kept out of error messages: they hold texts' words and phone
    numbers, and a database error ends up in a log.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _make_sqlite_serialise_writers(engine)
    else:
        engine = create_engine(url, **kwargs)
        if "pool_pre_ping" not in kwargs:  # a caller's own choice (on or off) stands
            ping_after_idle(engine)
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _utc_session)
            if engine.dialect.driver == "psycopg":
                event.listen(engine, "connect", _lazy_description)
    track_writes(engine)
    return engine


def _utc_session(dbapi_connection: Any, _record: Any) -> None:
    """Each PostgreSQL connection talks UTC, whatever the server's own time zone.

    psycopg hands back timestamptz values in the session's zone. In UTC they arrive carrying
    Python's own UTC, which `UTCDateTime` passes through as they are; in any other zone (a
    server set to 'Etc/UTC' included) every value is converted again, and an office's week
    reads several hundred. Correct either way: this only saves the conversion. PgBouncer
    keeps TimeZone per client in transaction pooling (it is one of the parameters it
    tracks), so a SET made once per connection holds on every server connection it lends.
    """
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # not inside a transaction the pool would roll back
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TimeZone TO 'UTC'")
    finally:
        dbapi_connection.autocommit = autocommit


def _lazy_description(dbapi_connection: Any, _record: Any) -> None:
    """Cursors whose result columns are built only when read (db.pg_cursor says why)."""
    dbapi_connection.cursor_factory = LazyDescriptionCursor


# A pooled connection is pinged before it is lent only when it has sat unused this long.
IDLE_BEFORE_PING_S = 1.0
_CHECKED_IN = "ipt_checked_in"


def ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout if it has been idle for `IDLE_BEFORE_PING_S`.

    A connection can die while it waits in the pool (a database restart or failover, an
    idle timeout at the server or at PgBouncer); a ping finds that out and the pool connects
    afresh, so the request never sees it. SQLAlchemy's `pool_pre_ping` pings on every
    checkout, and a web request checks out once: under load that was a round trip per
    request (8% of an audited read's time under `wrk`) for a connection the previous
    request used a moment ago. A connection that breaks between two busy requests still
    fails its request once, as a pre-ping could not prevent either (it can break just after
    the ping): SQLAlchemy then discards every connection made before the failure.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)  # none: connected just now
        if since is None or time.monotonic() - since < IDLE_BEFORE_PING_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool drops this connection and tries again with a new one.
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error


# Ending a transaction that only read: why COMMIT rather than ROLLBACK.
#
# psycopg forgets every statement it has prepared on a connection at each ROLLBACK (and has
# the server DEALLOCATE them): a rolled-back transaction may have dropped what they name.
# Sessions that only read used to end with ROLLBACK (Session.close), so no statement ever
# stayed prepared and PostgreSQL planned every query of every request again; planning the
# one-session read costs several times executing it. A transaction that sent nothing but
# reads ends the same way with COMMIT, and keeps them. `track_writes` notes, per connection,
# whether the open transaction sent anything else; `close_reading` commits only then.
_WROTE = "ipt_transaction_wrote"
_READ = re.compile(r"\s*(?:SELECT|BEGIN)\b", re.IGNORECASE)


def track_writes(engine: Engine) -> None:
    """Note on each connection whether its open transaction has sent anything but SELECTs."""
    if not event.contains(engine, "before_cursor_execute", _note_statement):
        event.listen(engine, "begin", _fresh_transaction)
        event.listen(engine, "before_cursor_execute", _note_statement)


def _fresh_transaction(conn: Any) -> None:
    conn.info[_WROTE] = False


def _note_statement(
    conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    # Anything not a plain SELECT counts as a write, a data-modifying WITH included.
    if not _READ.match(statement):
        conn.info[_WROTE] = True


def close_reading(session: Session) -> None:
    """Close the session, ending a transaction that only read with COMMIT (see above).

    Anything else is rolled back as `Session.close` always did: ORM changes not yet flushed,
    a write sent and not committed, or an engine without `track_writes`."""
    if (
        session.in_transaction()
        and not (session.new or session.dirty or session.deleted)
        and session.connection().info.get(_WROTE) is False
    ):
        try:
            session.commit()
        except Exception:  # the connection went away: nothing was written to lose
            session.rollback()
    session.close()


def _make_sqlite_serialise_writers(engine: Engine) -> None:
    # pysqlite's own transaction handling starts transactions lazily and deferred, so two
    # processes can both read "free" and then both write. Taking the write lock at BEGIN
    # (IMMEDIATE) makes SQLite a single writer: booking checks and dispatch claims can't race.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
