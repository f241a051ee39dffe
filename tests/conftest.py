"""Shared fixtures.

Database tests run on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set
(`.ci/run` does both). A PostgreSQL run creates its own database and drops it at the end, so the
server is left as it was found. Each test runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from scheduler.config import Settings
from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine
from scheduler.locations import LocationBook, load_locations
from scheduler.services.directory import sync_offices
from scheduler.sms.fake import FakeGateway
from scheduler.wiring import Container, assemble
from tests.support.scratch import scratch_database

ROOT = Path(__file__).resolve().parents[1]

# The instant every test starts at (a Monday, daytime in all four zones), ticking from there.
# Tests book fixed dates such as 2027-02-24 as "the future" and read the clock through
# datetime.now(), date.today() and the container; on the real clock they would start failing
# once those dates passed. Tests whose code runs in other processes (gunicorn, workers, the
# CLI, Chromium) keep the real clock (`@pytest.mark.real_clock`): a child process, or a
# browser judging cookie expiry, cannot see this one.
SUITE_NOW = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
REAL_CLOCK_MARKS = ("real_clock", "browser")


@pytest.fixture(autouse=True)
def _suite_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    if any(request.node.get_closest_marker(mark) for mark in REAL_CLOCK_MARKS):
        yield
        return
    with time_machine.travel(SUITE_NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to this machine only; anything else (like the real Twilio) is a bug."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach {host}: no network in tests")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def locations() -> LocationBook:
    return load_locations(ROOT / "locations.yaml")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this test run (the `engine` fixture migrates it)."""
    server = os.environ.get("TEST_DATABASE_URL") or "sqlite"
    with scratch_database(server, prefix="ipt_test") as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str, locations: LocationBook) -> Iterator[Engine]:
    eng = make_engine(database_url)
    upgrade(eng)
    with Session(eng) as db, db.begin():
        sync_offices(db, locations)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Any]:
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session_factory(connection: Any) -> sessionmaker[Session]:
    # Commits inside code under test release a savepoint; the test's outer transaction is
    # rolled back afterwards, so tests never see each other's data.
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(database_url: str) -> Settings:
    return replace(
        Settings(),
        database_url=database_url,
        secret_key="test-secret-key-0123456789",
        public_base_url="https://ipt.example.test",
        locations_file=ROOT / "locations.yaml",
    )


@pytest.fixture
def container(
    settings: Settings,
    locations: LocationBook,
    engine: Engine,
    session_factory: sessionmaker[Session],
) -> Container:
    # Nothing in a test reaches a real SMS backend: the container's gateway is a fake.
    return assemble(settings, locations, engine, session_factory, FakeGateway())


@pytest.fixture
def ctx(container: Container):
    return container.ctx
