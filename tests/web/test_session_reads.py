"""The API's session reads from plain rows (services.session_reads) answer exactly what the
mapped sessions did: the same rows within each user's reach, the same JSON, text states and
questionnaire flags, for sessions in every state the access world and a few changes give."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from scheduler.db.models import AuditEntry, MeasureResponse, OutboundMessage, TherapySession, User
from scheduler.services import access, measures, session_reads, visible_rows
from scheduler.services.errors import NotFound
from scheduler.services.queries import sessions_between
from scheduler.services.text_state import states_of_views, text_states
from scheduler.web.api import serialize
from tests.support.statements import statements
from tests.web.access_world import USERS, World, world_fixture  # noqa: F401  (fixture `world`)


def _user(db: Session, world: World, name: str) -> User:
    return db.scalars(select(User).where(User.email == world.emails[name])).one()


def _json(db: Session, user: User, sessions: list, states: Any) -> list[dict]:
    """Sessions as the API shows them, their text states from `states` (one of the paths)."""
    due = measures.measure_due(db, sessions)
    texts = states(db, sessions)
    return [
        serialize.session(
            s, texts[s.id], clinical=access.clinical_visible(user, s), measure_due=due[s.id]
        )
        for s in sessions
    ]


def _mapped_json(db: Session, user: User, sessions: list[TherapySession]) -> list[dict]:
    return _json(db, user, sessions, text_states)


def _view_json(db: Session, user: User, views: list) -> list[dict]:
    return _json(db, user, views, states_of_views)


@pytest.fixture
def varied(db: Session, world: World) -> World:
    """Sessions in more states: confirmed by text, cancelled late, attended, a failed text."""
    now = datetime.now(UTC)
    sessions = db.scalars(select(TherapySession).order_by(TherapySession.id)).all()
    by_series: dict[int, list[TherapySession]] = {}
    for s in sessions:
        by_series.setdefault(s.series_id, []).append(s)
    m = sorted(by_series[world.series_m], key=lambda s: s.starts_at)
    sr = sorted(by_series[world.series_s], key=lambda s: s.starts_at)
    m[2].confirmed_at = now - timedelta(hours=3)
    m[3].status, m[3].cancelled_by, m[3].late_cancel = "cancelled", "client", True
    sr[0].status, sr[0].marked_at = "attended", now
    failed = OutboundMessage(
        client_id=m[4].series.client_id,
        session_id=m[4].id,
        series_id=m[4].series_id,
        office_id=m[4].office_id,
        kind="reminder_24h",
        status="failed",
        send_at=now - timedelta(hours=1),
        error_code=30003,
        attempts=1,
        created_at=now,
        updated_at=now,
    )
    db.add(failed)
    # Questionnaires answered for the first sessions that ask for one (the rest stay due).
    done = set(db.scalars(select(MeasureResponse.session_id)))
    asking = [x for x in m + sr if measures.planned_for(x.series, x.number) and x.id not in done]
    for x in asking[:2]:
        db.add(
            MeasureResponse(
                session_id=x.id, series_id=x.series_id, client_id=x.series.client_id,
                instrument=measures.planned_for(x.series, x.number)[0], answers=[0] * 9,
                score=0, severity="minimal", source="staff",
            )
        )  # fmt: skip
    db.commit()
    return world


def _views_of(db: Session, user: User, sid: int) -> list[int | None]:
    """The client ids of the audit rows recording `user`'s views of session `sid`."""
    rows = db.execute(
        select(AuditEntry.client_id, AuditEntry.entity, AuditEntry.details).where(
            AuditEntry.action == "session.viewed",
            AuditEntry.actor == user.email,
            AuditEntry.entity_id == str(sid),
        )
    ).all()
    assert all(entity == "session" and details == {} for _, entity, details in rows)
    return [client_id for client_id, _, _ in rows]


@pytest.mark.parametrize("name", USERS)
def test_one_session_reads_as_the_mapped_session(db: Session, varied: World, name: str) -> None:
    user = _user(db, varied, name)
    ids = db.scalars(select(TherapySession.id).order_by(TherapySession.id)).all()
    shown = 0
    for sid in [*ids, varied.missing]:
        try:
            mapped = visible_rows.get_visible(db, user, TherapySession, sid)
        except NotFound:
            with pytest.raises(NotFound):  # hidden and missing alike, as before
                session_reads.one(db, user, sid, viewer=user.email)
            assert _views_of(db, user, sid) == []  # nothing shown, nothing recorded
            continue
        view, state = session_reads.one(db, user, sid, viewer=user.email)
        assert _view_json(db, user, [view]) == _mapped_json(db, user, [mapped]), sid
        # The single read joins its texts into its one statement: the same state as their
        # own query gives (a view without them asks).
        assert state == states_of_views(db, [replace(view, texts=None)])[view.id], sid
        # ...and records the view (in that same statement on PostgreSQL): one row, however
        # many texts the read joined.
        assert _views_of(db, user, sid) == [mapped.series.client_id], sid
        shown += 1
    assert shown > 0  # every user of the world reaches some session


@pytest.mark.parametrize("name", USERS)
def test_an_office_week_reads_as_the_mapped_sessions(db: Session, varied: World, name: str) -> None:
    user = _user(db, varied, name)
    start = datetime.now(UTC) - timedelta(days=2)
    end = start + timedelta(days=120)
    states = set()
    for office in ("miami", "seattle"):
        mapped = sessions_between(
            db, start=start, end=end, office_id=office, where=access.session_filter(user)
        )
        views = session_reads.between(db, user, start=start, end=end, office_id=office)
        assert [v.id for v in views] == [s.id for s in mapped]
        shown = _view_json(db, user, views)
        assert shown == _mapped_json(db, user, mapped)
        states |= {row["text_state"] for row in shown}
    if name == "admin":  # the changes above reach the JSON: the comparison covers them
        assert {"confirmed", "failed", "none"} <= states


def test_on_postgresql_the_reads_bring_texts_and_questionnaires(
    db: Session, varied: World, engine: Engine
) -> None:
    """PostgreSQL folds each session's texts (a list) and the questionnaires answered into
    the read's own statement: the JSON then costs no other statement, and says what the
    separate queries say (SQLite, in-process, asks them)."""
    user = _user(db, varied, "admin")
    start = datetime.now(UTC) - timedelta(days=2)
    end = start + timedelta(days=120)
    folded = engine.dialect.name == "postgresql"
    answered = due = 0
    for office in ("miami", "seattle"):
        views = session_reads.between(db, user, start=start, end=end, office_id=office)
        assert views
        bare = [replace(v, texts=None, answered=None) for v in views]
        asked = (states_of_views(db, bare), measures.due_instruments(db, bare))
        with statements(engine) as seen:
            brought = (states_of_views(db, views), measures.due_instruments(db, views))
        assert brought == asked
        assert (seen == []) == folded, seen
        assert all((v.texts is not None and v.answered is not None) == folded for v in views)
        answered += sum(bool(v.answered) for v in views)
        due += sum(bool(left) for left in brought[1].values())
        one, _ = session_reads.one(db, user, views[0].id, viewer=user.email)
        assert (one.answered is not None) == folded
        assert measures.due_instruments(db, [one]) == measures.due_instruments(db, bare[:1])
    assert due > 0 and (answered > 0) == folded  # both kinds were compared
