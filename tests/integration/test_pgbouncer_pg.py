"""Through PgBouncer in transaction mode, every connection of ours still talks UTC.

`db.session._utc_session` sets TimeZone once per connection, outside any transaction. In
transaction pooling the server connection under it changes from one transaction to the next
and is shared with other clients; PgBouncer tracks TimeZone per client (with client_encoding,
DateStyle, standard_conforming_strings and application_name) and sets it on the server
connection it lends. Here one server connection serves both our engine and a client that
wants Phoenix time, their transactions taking turns.

Runs when TEST_DATABASE_URL names a server and Debian's `pgbouncer` is installed (`.ci/run`
installs it). Debian's PgBouncer may be older than 1.21, so psycopg's server-side prepared
statements are off here; the README asks for 1.21 or later with `max_prepared_statements`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from scheduler.db.session import make_engine
from tests.support.procfile import free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
PG = os.environ.get("TEST_DATABASE_URL")
# The machine's clock for the bouncer process (it reads no time of ours, but is one).
pytestmark = pytest.mark.real_clock


def _need_pgbouncer() -> None:
    if not PG:
        pytest.skip("TEST_DATABASE_URL is not set: this test needs PostgreSQL")
    if not Path(PGBOUNCER).exists():
        reason = "pgbouncer is missing: install Debian's package (apt-get install -y pgbouncer)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def bouncer(engine: Engine, database_url: str) -> Iterator[str]:
    """A PgBouncer in transaction mode with one server connection, in front of the test run's
    database; yields the URL to reach that database through it."""
    _need_pgbouncer()
    server = make_url(database_url)
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="ipt_pgbouncer_"))
    host, server_port = server.host or "127.0.0.1", server.port or 5432
    backend = f"host={host} port={server_port} dbname={server.database}"
    if server.username:
        backend += f" user={server.username}"
    if server.password:
        backend += f" password={server.password}"
    (folder / "users.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
{server.database} = {backend}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = 1
max_client_conn = 10
"""
    )
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer will not run as root: as postgres, reading our files
        folder.chmod(0o755)
        for path in folder.iterdir():
            path.chmod(0o644)
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = server.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                psycopg.connect(_plain(url), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    out = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"pgbouncer did not start: {out[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_our_connections_talk_utc_while_sharing_a_server_connection(bouncer: str) -> None:
    ours = make_engine(bouncer, connect_args={"prepare_threshold": None})
    other = psycopg.connect(_plain(bouncer), prepare_threshold=None)
    try:
        with other.cursor() as cursor:
            cursor.execute("SET TimeZone TO 'America/Phoenix'")
        other.commit()
        for _ in range(3):  # turn by turn on PgBouncer's one server connection
            with ours.connect() as conn:
                zone = conn.scalar(text("SHOW TimeZone"))
                now = conn.scalar(text("SELECT now()"))
                backend = conn.scalar(text("SELECT pg_backend_pid()"))
                conn.commit()
            with other.cursor() as cursor:
                theirs = cursor.execute("SHOW TimeZone").fetchone()
                their_backend = cursor.execute("SELECT pg_backend_pid()").fetchone()
            other.commit()
            assert zone == "UTC"
            assert now.tzinfo is UTC  # Python's own: UTCDateTime has nothing to convert
            assert theirs == ("America/Phoenix",)
            assert their_backend == (backend,)  # the very same server connection
    finally:
        other.close()
        ours.dispose()


def test_a_reads_commit_setting_stays_with_its_transaction(bouncer: str) -> None:
    """A read that records what it shows switches its own commit's flush wait off
    (`audit._view_row`: set_config(..., true)); the next client lent the same server
    connection commits with the wait, as configured."""
    ours = make_engine(bouncer, connect_args={"prepare_threshold": None})
    other = psycopg.connect(_plain(bouncer), prepare_threshold=None)
    try:
        with ours.connect() as conn:
            conn.execute(text("SELECT set_config('synchronous_commit', 'off', true)"))
            assert conn.scalar(text("SHOW synchronous_commit")) == "off"
            backend = conn.scalar(text("SELECT pg_backend_pid()"))
            conn.commit()
        with other.cursor() as cursor:
            assert cursor.execute("SHOW synchronous_commit").fetchone() == ("on",)
            assert cursor.execute("SELECT pg_backend_pid()").fetchone() == (backend,)
        other.commit()
    finally:
        other.close()
        ours.dispose()
