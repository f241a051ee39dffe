"""Browser sessions end on the server: sign-out, idle and absolute limits, disabling, passwords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.db.models import AuditEntry, StaffSession
from scheduler.services import accounts, staff_sessions
from scheduler.wiring import Container
from scheduler.worker import Runtime, housekeeping_job
from tests.web.clock_support import Clock
from tests.web.pages_support import PASSWORD, csrf, sign_in, staff

START = datetime(2026, 11, 30, 9, tzinfo=UTC)
COOKIE = "session"


@pytest.fixture
def clock(container: Container) -> Clock:
    clock = Clock(START)
    container.clock = clock
    return clock


@pytest.fixture
def desk(db: Session) -> str:
    staff(db, "desk@test.invalid")
    return "desk@test.invalid"


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/clients")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def session_rows(db: Session) -> list[StaffSession]:
    db.expire_all()
    return list(db.scalars(select(StaffSession)))


def replay(app: Flask, cookie: str) -> FlaskClient:
    """A fresh browser given a copy of a saved session cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client


def test_sign_out_ends_the_session_on_the_server(
    app: Flask, db: Session, desk: str, clock: Clock
) -> None:
    client = signed_in(app, desk)
    saved = client.get_cookie(COOKIE)
    assert saved is not None
    assert is_signed_in(replay(app, saved.value))  # a copy works while the session lives
    assert len(session_rows(db)) == 1
    assert client.post("/signout", data={"csrf_token": csrf(client, "/clients")}).status_code == 302
    assert not is_signed_in(client)
    # The copy saved before signing out is refused too: the session is gone on the server.
    thief = replay(app, saved.value)
    response = thief.get("/clients")
    assert response.status_code == 302 and response.location.startswith("/signin")
    assert session_rows(db) == []
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.actor == desk)).all()
    assert "user.signed_in" in actions and "user.signed_out" in actions


def test_the_cookie_holds_no_user_id_only_a_random_secret(
    app: Flask, db: Session, desk: str, clock: Clock
) -> None:
    first = signed_in(app, desk)
    second = signed_in(app, desk)
    a, b = first.get_cookie(COOKIE), second.get_cookie(COOKIE)
    assert a is not None and b is not None and a.value != b.value
    rows = session_rows(db)
    assert len(rows) == 2
    # Only digests are stored: a database leak gives nobody a usable cookie.
    assert all(len(row.secret_hash) == 64 for row in rows)
    # Signing out one browser leaves the other signed in.
    first.post("/signout", data={"csrf_token": csrf(first, "/clients")})
    assert not is_signed_in(first) and is_signed_in(second)


def test_idle_timeout_ends_the_session(
    app: Flask, db: Session, desk: str, clock: Clock, container: Container
) -> None:
    idle = container.settings.session_idle_minutes
    assert idle == 30
    client = signed_in(app, desk)
    clock.advance(minutes=idle - 1)
    assert is_signed_in(client)  # activity restarts the idle clock...
    clock.advance(minutes=idle - 1)
    assert is_signed_in(client)
    clock.advance(minutes=idle)  # ...and a full idle period ends the session
    response = client.get("/clients")
    assert response.status_code == 302
    page = client.get(response.location)
    assert "Your session has ended" in page.text
    assert session_rows(db) == []  # ended for good, not just refused this once
    clock.advance(seconds=-idle * 60)  # even a clock turned back does not revive it
    assert not is_signed_in(client)


def test_idle_limit_comes_from_the_settings(
    app: Flask, db: Session, desk: str, clock: Clock, container: Container
) -> None:
    from dataclasses import replace

    container.settings = replace(container.settings, session_idle_minutes=5)
    client = signed_in(app, desk)
    clock.advance(minutes=4, seconds=59)
    assert is_signed_in(client)
    clock.advance(minutes=5)
    assert not is_signed_in(client)


def test_absolute_limit_ends_a_busy_session_after_twelve_hours(
    app: Flask, db: Session, desk: str, clock: Clock
) -> None:
    client = signed_in(app, desk)
    for _ in range(47):  # a request every 15 minutes, to 11:45 after sign-in: never idle
        clock.advance(minutes=15)
        assert is_signed_in(client)
    clock.advance(minutes=14)  # 11:59
    assert is_signed_in(client)
    clock.advance(minutes=1)  # 12:00
    assert not is_signed_in(client)
    assert signed_in(app, desk)  # signing in again starts a new 12 hours


def test_last_seen_is_written_at_most_once_a_minute(
    app: Flask, db: Session, desk: str, clock: Clock
) -> None:
    client = signed_in(app, desk)
    (row,) = session_rows(db)
    assert row.last_seen_at == START
    clock.advance(seconds=59)
    assert is_signed_in(client)
    (row,) = session_rows(db)
    assert row.last_seen_at == START  # a request within the minute is a read only
    clock.advance(seconds=1)
    assert is_signed_in(client)
    (row,) = session_rows(db)
    assert row.last_seen_at == START + timedelta(minutes=1)


def test_disabling_a_user_ends_its_sessions_at_once(
    app: Flask, db: Session, desk: str, clock: Clock
) -> None:
    browsers = [signed_in(app, desk), signed_in(app, desk)]
    staff(db, "other@test.invalid")
    other = signed_in(app, "other@test.invalid")
    done = accounts.disable_user(db, desk, now=clock(), actor="cli:test")
    db.commit()
    assert done is not None and done.sessions_ended == 2
    assert not any(is_signed_in(b) for b in browsers)
    assert is_signed_in(other)
    # A disabled user cannot sign in again, and enabling does not revive old sessions.
    assert sign_in(app.test_client(), desk).status_code == 401
    accounts.enable_user(db, desk, actor="cli:test")
    db.commit()
    assert not any(is_signed_in(b) for b in browsers)
    assert signed_in(app, desk)


def test_a_new_password_ends_every_session_of_the_user(
    app: Flask, db: Session, desk: str, clock: Clock
) -> None:
    client = signed_in(app, desk)
    ended = accounts.set_password(db, desk, "a-brand-new-password", actor="cli:test")
    db.commit()
    assert ended == 1
    assert not is_signed_in(client)
    assert sign_in(app.test_client(), desk, "a-brand-new-password").status_code == 302


def test_signing_in_again_replaces_the_browsers_session(
    app: Flask, db: Session, desk: str, clock: Clock
) -> None:
    client = signed_in(app, desk)
    old = client.get_cookie(COOKIE)
    assert old is not None
    # A sign-in form left open in another tab, posted while this browser is signed in.
    token = csrf(client, "/clients")
    again = client.post("/signin", data={"csrf_token": token, "email": desk, "password": PASSWORD})
    assert again.status_code == 302
    assert len(session_rows(db)) == 1
    assert not is_signed_in(replay(app, old.value))


def test_housekeeping_sweeps_expired_sessions(
    app: Flask, db: Session, desk: str, clock: Clock, container: Container
) -> None:
    signed_in(app, desk)
    clock.advance(minutes=20)
    fresh = signed_in(app, desk)
    clock.advance(minutes=15)  # the first is idle 35 minutes, the second 15
    runtime = Runtime(container, gateway=None, dispatcher=None, worker_id="test")  # type: ignore[arg-type]
    housekeeping_job(runtime)
    rows = session_rows(db)
    assert len(rows) == 1 and rows[0].created_at == START + timedelta(minutes=20)
    assert is_signed_in(fresh)
    limits = staff_sessions.Limits.from_settings(container.settings)
    assert staff_sessions.sweep(db, now=clock() + timedelta(hours=12), limits=limits) == 1
    assert db.scalar(select(func.count()).select_from(StaffSession)) == 0
