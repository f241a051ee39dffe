"""PostgreSQL tests that need real commits: a database of their own, made and dropped here.

They run only when TEST_DATABASE_URL names a server (CI sets it for its second run).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine
from scheduler.locations import LocationBook, load_locations
from scheduler.services.directory import sync_offices

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    if not PG:
        pytest.skip("TEST_DATABASE_URL is not set: this test needs PostgreSQL")
    base = make_url(PG).set(drivername="postgresql+psycopg")
    name = f"ipt_workers_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def book() -> LocationBook:
    return load_locations(ROOT / "locations.yaml")


@pytest.fixture(scope="module")
def engine(pg_url: str, book: LocationBook) -> Iterator[Engine]:
    eng = make_engine(pg_url)
    upgrade(eng)
    with Session(eng) as db, db.begin():
        sync_offices(db, book)
    yield eng
    eng.dispose()


def daytime_zone() -> str:
    """A zone where it is now comfortably inside the allowed texting window (08:00-21:00)."""
    now = datetime.now(UTC)
    for offset in range(-12, 15):
        zone = f"Etc/GMT{'+' if offset <= 0 else '-'}{abs(offset)}"
        if 10 <= now.astimezone(ZoneInfo(zone)).hour < 18:
            return zone
    raise AssertionError("no zone has daytime now")  # cannot happen: 27 offsets span a day
