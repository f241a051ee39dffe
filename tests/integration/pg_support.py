"""PostgreSQL tests that need real commits: a database of their own (tests.support.scratch).

They run only when TEST_DATABASE_URL names a server (CI sets it for its second run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine
from scheduler.locations import LocationBook, load_locations
from scheduler.services.directory import sync_offices
from tests.support.scratch import scratch_database

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    if not PG:
        pytest.skip("TEST_DATABASE_URL is not set: this test needs PostgreSQL")
    with scratch_database(PG, prefix="ipt_workers") as url:
        yield url


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
