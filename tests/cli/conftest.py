"""Running `ipt-scheduler` in-process against the test database, or a database of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scheduler.cli import main
from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine
from scheduler.locations import LocationBook
from scheduler.services.directory import sync_offices
from tests.support.scratch import scratch_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(database_url: str, engine, monkeypatch: pytest.MonkeyPatch, tmp_path) -> dict[str, str]:
    """The environment of a command run against the suite's (migrated) test database."""
    values = {
        "DATABASE_URL": database_url,
        "LOCATIONS_FILE": str(ROOT / "locations.yaml"),
        "INSTANCE_DIR": str(tmp_path),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def _scratch() -> AbstractContextManager[str]:
    return scratch_database(os.environ.get("TEST_DATABASE_URL") or "sqlite", prefix="ipt_cli")


@pytest.fixture
def blank_database_url() -> Iterator[str]:
    """A new, empty database on the suite's server (SQLite, or TEST_DATABASE_URL's)."""
    with _scratch() as url:
        yield url


@pytest.fixture(scope="module")
def module_engine(locations: LocationBook) -> Iterator[Engine]:
    """A migrated database for one test module whose commands commit what they do, so that
    their accounts, sessions and tokens never show up in other tests' counts."""
    with _scratch() as url:
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine) as db, db.begin():
            sync_offices(db, locations)
        yield engine
        engine.dispose()


@pytest.fixture
def module_env(
    module_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """The environment of a command run against `module_engine`."""
    values = {
        "DATABASE_URL": module_engine.url.render_as_string(hide_password=False),
        "LOCATIONS_FILE": str(ROOT / "locations.yaml"),
        "INSTANCE_DIR": str(tmp_path),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr
