"""Reads of health data are audited: who viewed which client, series, session, review or text.

Each read writes its rows as ONE INSERT in the request's own transaction (a later benchmark
measures read throughput, so this stays one cheap statement), and admins see who viewed a
client on the client page and at GET /api/v1/clients/{id}/audit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from scheduler.config import ConfigError, Settings
from scheduler.db.models import AuditEntry, TherapySession, User
from scheduler.services import access, audit
from scheduler.web import context, reach
from scheduler.wiring import Container
from tests.web.access_world import (
    World,
    apis_fixture,  # noqa: F401  (fixture `apis`)
    page_clients,
    world_fixture,  # noqa: F401  (fixture `world`)
)
from tests.web.conftest import Api


@contextmanager
def audit_inserts(engine: Engine) -> Iterator[list[str]]:
    """The statements inside the block that write into audit_log: an INSERT, or on PostgreSQL
    a read that writes its own audit row (WITH ... INSERT INTO audit_log ... SELECT ...)."""
    seen: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "INSERT INTO AUDIT_LOG" in statement.upper():
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", spy)


def _views(db: Session) -> list[AuditEntry]:
    db.expire_all()
    query = select(AuditEntry).where(AuditEntry.action.like("%.viewed")).order_by(AuditEntry.id)
    return list(db.scalars(query))


def test_each_api_read_writes_its_audit_rows_in_one_insert(
    world: World, apis: dict[str, Api], db: Session, engine: Engine
):
    reads = [
        ("desk_miami", f"/clients/{world.client_m}", "client.viewed", "client", world.client_m),
        ("desk_miami", f"/series/{world.series_m}", "series.viewed", "series", world.series_m),
        ("desk_all", f"/sessions/{world.next_m}", "session.viewed", "session", world.next_m),
        ("ther_a", f"/sessions/{world.next_m}/review", "review.viewed", "session", world.next_m),
        ("ther_a", f"/series/{world.series_m}/course", "course.viewed", "series", world.series_m),
        (
            "ther_a",
            f"/series/{world.series_m}/measures",
            "measures.viewed",
            "series",
            world.series_m,
        ),
        ("desk_miami", f"/inbox/{world.item_m_goal}", "inbox_item.viewed", "inbox_item", None),
    ]
    # On PostgreSQL the reads of one record write their audit row in their own SELECT: no
    # extra statement.
    postgresql = engine.dialect.name == "postgresql"
    for user, path, action, entity, entity_id in reads:
        before = len(_views(db))
        started = datetime.now(UTC)
        with audit_inserts(engine) as inserts:
            assert apis[user].get(path).status_code == 200, path
        assert len(inserts) == 1, (path, inserts)
        if postgresql:
            assert inserts[0].lstrip().upper().startswith("WITH"), (path, inserts)
        (row,) = _views(db)[before:]
        assert (row.actor, row.action, row.entity) == (world.emails[user], action, entity)
        assert row.entity_id == str(entity_id if entity_id is not None else world.item_m_goal)
        assert row.client_id == world.client_m
        assert started - timedelta(seconds=5) <= row.at <= datetime.now(UTC)
        assert row.series_id is None  # reads stay out of the series' change trail


@pytest.mark.parametrize(
    ("path", "action"), [("/inbox", "inbox_item.viewed"), ("/alerts", "alert.viewed")]
)
def test_a_list_writes_one_row_per_record_shown_in_one_statement(
    world: World, apis: dict[str, Api], db: Session, engine: Engine, path: str, action: str
):
    before = len(_views(db))
    with audit_inserts(engine) as inserts:
        listed = apis["admin"].get(path).get_json()
    # One statement: on PostgreSQL the list's own read (WITH ... INSERT ... SELECT).
    assert len(inserts) == 1
    if engine.dialect.name == "postgresql":
        assert inserts[0].lstrip().upper().startswith("WITH"), inserts
    rows = _views(db)[before:]
    assert sorted(int(r.entity_id) for r in rows) == sorted(i["id"] for i in listed)
    assert {r.action for r in rows} == {action}
    assert {r.actor for r in rows} == {world.emails["admin"]}
    assert {r.client_id for r in rows} <= {world.client_m, world.client_s, None}
    if path == "/inbox":
        # The world's four texts, and the admins-only item of the alert from M's questionnaire.
        assert len(listed) == 5
    else:
        assert listed and {r.client_id for r in rows} == {world.client_m}


def test_refused_reads_write_no_audit_row(world: World, apis: dict[str, Api], db: Session):
    before = len(_views(db))
    assert apis["desk_miami"].get(f"/clients/{world.client_s}").status_code == 404
    assert apis["desk_all"].get(f"/sessions/{world.next_m}/review").status_code == 403
    assert apis["ther_b"].get(f"/series/{world.series_m}").status_code == 404
    # The desk reaches the series but not its course: the read that wrote the view's audit
    # row (in the same statement on PostgreSQL) is refused after it, and the row rolled back.
    assert apis["desk_miami"].get(f"/series/{world.series_m}/course").status_code == 403
    assert apis["desk_miami"].get(f"/series/{world.series_m}/measures").status_code == 403
    assert len(_views(db)) == before


def test_page_reads_are_audited_too(app: Flask, world: World, db: Session, engine: Engine):
    browsers = page_clients(app, world)
    reads = [
        ("desk_miami", f"/clients/{world.client_m}", ["client.viewed"]),
        ("desk_miami", f"/series/{world.series_m}", ["series.viewed"]),
        ("desk_miami", f"/sessions/{world.next_m}", ["session.viewed"]),
        ("ther_a", f"/sessions/{world.next_m}", ["review.viewed"]),  # the page shows the review
        ("ther_a", f"/series/{world.series_m}/course", ["course.viewed"]),
        ("desk_miami", "/offices/miami/inbox", ["inbox_item.viewed"] * 2),
        ("ther_a", "/alerts", ["alert.viewed"]),
    ]
    # Reads whose rows the read itself writes on PostgreSQL: all of these.
    folded = {"/clients/", "/series/", "/sessions/", "/offices/miami/inbox", "/alerts"}
    for user, path, actions in reads:
        before = len(_views(db))
        with audit_inserts(engine) as inserts:
            assert browsers[user].get(path).status_code == 200, path
        rows = _views(db)[before:]
        assert len(inserts) == 1 and [r.action for r in rows] == actions, path
        if engine.dialect.name == "postgresql" and any(path.startswith(f) for f in folded):
            assert inserts[0].lstrip().upper().startswith("WITH"), (path, inserts)
        assert {r.actor for r in rows} == {world.emails[user]}
        assert {r.client_id for r in rows} <= {world.client_m, None}


def test_admins_see_who_viewed_a_client(
    app: Flask, world: World, apis: dict[str, Api], db: Session
):
    apis["desk_miami"].get(f"/clients/{world.client_m}")
    apis["ther_a"].get(f"/sessions/{world.next_m}/review")
    apis["desk_all"].get(f"/inbox/{world.item_m_goal}")
    apis["desk_all"].get(f"/clients/{world.client_s}")  # another client's: not listed
    trail = apis["admin"].get(f"/clients/{world.client_m}/audit")
    assert trail.status_code == 200
    seen = [(e["actor"], e["action"]) for e in trail.get_json()]
    assert seen == [  # newest first
        (world.emails["desk_all"], "inbox_item.viewed"),
        (world.emails["ther_a"], "review.viewed"),
        (world.emails["desk_miami"], "client.viewed"),
    ]
    assert all(e["at"] for e in trail.get_json())
    assert len(apis["admin"].get(f"/clients/{world.client_m}/audit?limit=1").get_json()) == 1
    for bad in ("0", "1001", "ten", "²"):
        r = apis["admin"].get(f"/clients/{world.client_m}/audit?limit={bad}")
        assert r.status_code == 422 and "limit" in r.get_json()["fields"], bad
    # Only admins: others who see the client get 403, others 404 (tested in the access table).
    assert apis["desk_miami"].get(f"/clients/{world.client_m}/audit").status_code == 403

    browsers = page_clients(app, world)
    page = browsers["admin"].get(f"/clients/{world.client_m}").text
    assert "Who viewed this client" in page and world.emails["desk_miami"] in page
    assert (
        "Who viewed this client" not in browsers["desk_all"].get(f"/clients/{world.client_m}").text
    )


def test_the_series_change_trail_does_not_list_reads(app: Flask, world: World):
    browsers = page_clients(app, world)
    for _ in range(2):
        browsers["desk_miami"].get(f"/series/{world.series_m}")
    page = browsers["admin"].get(f"/series/{world.series_m}").text
    assert "series.booked" in page and ".viewed" not in page


@pytest.mark.parametrize("what", ["clients", "sessions", "review", "course", "inbox", "alerts"])
def test_a_read_whose_audit_row_cannot_be_written_is_not_served(
    world: World, apis: dict[str, Api], db: Session, engine: Engine, what: str
):
    # The database refuses any statement writing audit_log (a separate INSERT on SQLite, the
    # read itself on PostgreSQL, where it writes its own row).
    def broken(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "INSERT INTO AUDIT_LOG" in statement.upper():
            raise OperationalError(statement, {}, Exception("disk full"))

    user, path = {
        "clients": ("desk_miami", f"/clients/{world.client_m}"),
        "sessions": ("desk_miami", f"/sessions/{world.next_m}"),
        "review": ("ther_a", f"/sessions/{world.next_m}/review"),
        "course": ("ther_a", f"/series/{world.series_m}/course"),
        "inbox": ("admin", "/inbox"),
        "alerts": ("admin", "/alerts"),
    }[what]
    event.listen(engine, "before_cursor_execute", broken)
    try:
        response = apis[user].get(path)
    finally:
        event.remove(engine, "before_cursor_execute", broken)
    assert response.status_code == 500
    assert "Mia" not in response.get_data(as_text=True)
    assert (
        db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.client_id.is_not(None))
        )
        == 0
    )


@pytest.mark.parametrize("mode", ["durable", "async"])
def test_read_audit_commit_skips_the_flush_wait_unless_asked_to_wait(
    world: World,
    apis: dict[str, Api],
    db: Session,
    engine: Engine,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    """READ_AUDIT_COMMIT=async (the default): on PostgreSQL an audited read's commit skips
    the wait for the log flush, for that transaction alone; the read's own statement switches
    it off as it writes the audit row, so no SET is sent. Its rows are written all the same.
    READ_AUDIT_COMMIT=durable: it waits like any other commit."""
    monkeypatch.setattr(container, "settings", replace(container.settings, read_audit_commit=mode))
    sent: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    before = len(_views(db))
    event.listen(engine, "before_cursor_execute", spy)
    try:
        for path in (f"/clients/{world.client_m}", f"/sessions/{world.next_m}", "/inbox"):
            assert apis["desk_miami"].get(path).status_code == 200, path
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert len(_views(db)) > before + 2  # every read recorded, whatever the mode
    assert not [s for s in sent if "synchronous_commit" in s and "set_config" not in s]
    if engine.dialect.name == "postgresql":
        # The tests' commits release savepoints of one outer transaction: the setting the
        # reads' transactions committed with is still in force on it.
        assert db.scalar(text("SHOW synchronous_commit")) == ("off" if mode == "async" else "on")


def test_a_read_recorded_by_an_insert_of_its_own_gets_a_set_local(
    app: Flask, db: Session, engine: Engine
) -> None:
    """A GET whose audit rows went in by `audit.record_views` (no read statement to carry the
    setting): `served` sends SET LOCAL before the commit (PostgreSQL)."""
    sent: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    with app.test_request_context("/", method="GET"):
        session = context.db()
        assert session.info.get(audit.SKIP_FLUSH_WAIT)
        audit.record_views(session, "someone@example.org", [audit.View("client", 1, None)])
        event.listen(engine, "before_cursor_execute", spy)
        try:
            reach.served()
        finally:
            event.remove(engine, "before_cursor_execute", spy)
    on_postgresql = engine.dialect.name == "postgresql"
    no_wait = [s for s in sent if "synchronous_commit" in s]
    assert no_wait == (["SET LOCAL synchronous_commit TO OFF"] if on_postgresql else [])
    with app.test_request_context("/", method="POST"):  # a write's commit always waits
        assert not context.db().info.get(audit.SKIP_FLUSH_WAIT)


def test_read_audit_commit_is_read_from_the_environment() -> None:
    base = {"SECRET_KEY": "x" * 20}
    assert Settings.from_env(base).read_audit_commit == "async"
    assert Settings.from_env({**base, "READ_AUDIT_COMMIT": " Durable "}).read_audit_commit == (
        "durable"
    )
    with pytest.raises(ConfigError, match="READ_AUDIT_COMMIT must be durable or async"):
        Settings.from_env({**base, "READ_AUDIT_COMMIT": "fast"})


def test_the_session_pages_audit_action_is_known_before_the_row_is_read(world: World, db: Session):
    # The session page names its audit action (review or session) before it reads the row:
    # that holds only if, for each user, every session they reach shows its clinical content
    # or none does.
    sessions = db.scalars(select(TherapySession)).all()
    assert sessions
    seen: set[bool] = set()
    for email in world.emails.values():
        user = db.scalars(select(User).where(User.email == email)).one()
        reached = set(db.scalars(select(TherapySession.id).where(access.session_filter(user))))
        shown = {s.id: access.clinical_visible(user, s) for s in sessions if s.id in reached}
        expected = access.sees_clinical_of_every_session(user)
        assert set(shown.values()) <= {expected}, email
        if shown:
            seen.add(expected)
    assert seen == {True, False}  # both kinds of user reached sessions


def test_the_therapist_page_records_the_reviews_it_shows(
    app: Flask, world: World, db: Session, engine: Engine
):
    browsers = page_clients(app, world)
    before = len(_views(db))
    with audit_inserts(engine) as inserts:
        assert browsers["ther_a"].get(f"/therapists/{world.ther_a}").status_code == 200
    rows = _views(db)[before:]
    assert {r.action for r in rows} == {"review.viewed"}
    assert world.started_m in {int(r.entity_id) for r in rows}  # today's, in this week
    assert {r.actor for r in rows} == {world.emails["ther_a"]}
    assert {r.client_id for r in rows} == {world.client_m}
    assert len(inserts) == 1  # one statement for all of them: on PostgreSQL, the read itself
    if engine.dialect.name == "postgresql":
        assert inserts[0].lstrip().upper().startswith("WITH"), inserts
    # The front desk sees no review there, and none is recorded.
    before = len(_views(db))
    with audit_inserts(engine) as inserts:
        assert browsers["desk_miami"].get(f"/therapists/{world.ther_a}").status_code == 200
    assert inserts == [] and len(_views(db)) == before
