"""The throwaway database used by tests and benchmarks.

`scratch_database("sqlite")` is a SQLite file in a temporary directory; given a PostgreSQL
server URL it creates a database of its own on that server (named `<prefix>_<random>`, so
concurrent runs never share one) and drops it afterwards, even when connections are still
open, so the server is left as it was found. Either way the caller gets a URL to migrate and
fill; nothing here creates tables.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The name is spliced into CREATE/DROP DATABASE (identifiers cannot be bound parameters), so
# only plain lower-case identifiers are accepted as a prefix.
_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,40}")


@contextmanager
def scratch_database(backend_or_server_url: str, *, prefix: str = "ipt_scratch") -> Iterator[str]:
    """Yield the URL of an empty database that is gone when the block exits.

    `backend_or_server_url` is "sqlite", or the URL of a PostgreSQL server (any database on
    it will do as the place to connect from; the psycopg driver is used whatever the URL
    names). `prefix` names the PostgreSQL database and the SQLite file, so a leftover one
    says who made it.
    """
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"scratch database prefix must be a plain identifier: {prefix!r}")
    if backend_or_server_url == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{prefix}_") as tmp:
            yield f"sqlite:///{tmp}/{prefix}.sqlite3"
        return
    server = make_url(backend_or_server_url)
    if server.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError(f"scratch databases are SQLite or PostgreSQL, not {server.drivername}")
    base = server.set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    # CREATE/DROP DATABASE cannot run inside a transaction.
    admin = create_engine(base, isolation_level="AUTOCOMMIT", hide_parameters=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            # FORCE: engines the caller forgot to dispose must not keep the database alive.
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def daytime_zone() -> str:
    """A fixed-offset zone where it is now mid-day, for seeding texts that may go out at once.

    Texts are only sent inside a local window (08:00-21:00); 10:00-18:00 leaves hours of
    margin for a run that starts near a boundary.
    """
    now = datetime.now(UTC)
    for offset in range(-12, 15):
        # POSIX-style names: Etc/GMT+5 is five hours *behind* UTC.
        zone = f"Etc/GMT{'+' if offset <= 0 else '-'}{abs(offset)}"
        if 10 <= now.astimezone(ZoneInfo(zone)).hour < 18:
            return zone
    raise RuntimeError("no zone has daytime now")  # cannot happen: 27 offsets span a day
