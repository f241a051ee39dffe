"""`serve --demo` seeds only an empty database or one that holds only the demo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from scheduler.config import Settings
from scheduler.db.migrate import upgrade
from scheduler.db.models import ApiToken, AuditEntry, Client, User
from scheduler.db.session import make_engine, make_session_factory
from scheduler.locations import LocationBook
from scheduler.services import accounts, demo, directory
from scheduler.services.context import ServiceContext
from scheduler.services.directory import sync_offices
from scheduler.sms.fake import FakeGateway
from scheduler.wiring import assemble
from tests.cli.conftest import ROOT, run


@pytest.fixture
def blank(blank_database_url: str) -> Iterator[Engine]:
    engine = make_engine(blank_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def demo_env(
    blank: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """`serve` against the blank database, with the server itself replaced by a no-op."""
    values = {
        "DATABASE_URL": blank.url.render_as_string(hide_password=False),
        "LOCATIONS_FILE": str(ROOT / "locations.yaml"),
        "INSTANCE_DIR": str(tmp_path),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("flask.Flask.run", lambda *a, **kw: None)
    yield values


def migrated(engine: Engine, locations: LocationBook) -> ServiceContext:
    upgrade(engine)
    with Session(engine) as db, db.begin():
        sync_offices(db, locations)
    return assemble(Settings(), locations, engine, make_session_factory(engine), FakeGateway()).ctx


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as db:
        return {
            model.__tablename__: db.scalar(select(func.count()).select_from(model)) or 0
            for model in (User, ApiToken, AuditEntry, Client)
        }


def test_serve_demo_seeds_an_empty_database_and_can_run_again(
    blank: Engine, demo_env: dict[str, str]
) -> None:
    code, out, err = run("serve", "--demo")
    assert code == 0, out + err
    assert "demo API token" in out
    first = counts(blank)
    assert first["users"] == len(demo.DEMO_ACCOUNTS)
    code, out, err = run("serve", "--demo")  # the demo database: seeded already, allowed
    assert code == 0, out + err
    again = counts(blank)
    assert again["users"] == first["users"] and again["clients"] == first["clients"]
    assert again["api_tokens"] == first["api_tokens"] + 1  # a fresh token each start


def test_serve_demo_refuses_a_database_with_real_accounts(
    blank: Engine, demo_env: dict[str, str], locations: LocationBook
) -> None:
    migrated(blank, locations)
    with Session(blank) as db, db.begin():
        accounts.create_user(
            db, email="office@practice.test", role="admin", password="a-real-password"
        )
    before = counts(blank)
    code, out, err = run("serve", "--demo")
    assert code == 2
    assert "1 account(s) that are not the demo's" in err
    assert "Nothing was changed" in err and "without --demo" in err
    assert "demo API token" not in out and "serving" not in out
    assert counts(blank) == before
    with Session(blank) as db:
        assert accounts.find_user(db, demo.DEMO_ADMIN) is None


def test_serve_demo_refuses_an_older_database_without_upgrading_it(
    blank: Engine, demo_env: dict[str, str]
) -> None:
    upgrade(blank, "0005_web")
    with blank.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (email, name, password_hash, role, active, created_at) "
                "VALUES ('office@practice.test', '', 'x', 'admin', true, CURRENT_TIMESTAMP)"
            )
        )
    code, _, err = run("serve", "--demo")
    assert code == 2 and "not the demo's" in err
    with blank.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert version == "0005_web"  # not even migrated
        assert not inspect(conn).has_table("staff_sessions")


def test_a_database_with_records_but_no_accounts_is_not_empty(
    blank: Engine, locations: LocationBook
) -> None:
    ctx = migrated(blank, locations)
    with Session(blank) as db, db.begin():
        directory.create_client(
            db,
            ctx,
            directory.NewClient("Ada", "Lane", "+12065550142", "seattle"),
            actor="import",
        )
    with Session(blank) as db, pytest.raises(demo.NotADemoDatabase, match="1 client record"):
        demo.seed_demo(db, ctx)
    assert counts(blank)["users"] == 0


def test_the_demo_database_stays_the_demo_while_used_and_stops_being_it_with_a_real_account(
    blank: Engine, locations: LocationBook
) -> None:
    ctx = migrated(blank, locations)
    with Session(blank) as db, db.begin():
        demo.ensure_demo_only(db)  # empty
        demo.seed_demo(db, ctx)
    with Session(blank) as db, db.begin():
        # Someone tries the demo out: a client booked by the demo admin is still the demo.
        directory.create_client(
            db,
            ctx,
            directory.NewClient("Ada", "Lane", "+12065550142", "seattle"),
            actor=demo.DEMO_ADMIN,
        )
        demo.ensure_demo_only(db)
        accounts.create_user(db, email="Real@Practice.test", role="admin", password="a-real-pw-1")
    before = counts(blank)
    with Session(blank) as db, db.begin(), pytest.raises(demo.NotADemoDatabase):
        demo.seed_demo(db, ctx)
    assert counts(blank) == before
