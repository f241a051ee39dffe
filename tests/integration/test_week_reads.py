"""The therapist's week reads each thing once, and must answer what the separate reads answer.

Its text states come from the texts it reads anyway (`text_state.states_from_texts`), not from
`text_states`' own query; its "measure due" from the measures loaded with its sessions
(`sessions_between(measures=True)`), not from `measures.answered`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from scheduler.db.models import MeasureResponse, OutboundMessage, TherapySession
from scheduler.services import measures
from scheduler.services.context import ServiceContext
from scheduler.services.queries import sessions_between
from scheduler.services.text_state import TEXT_STATES, states_from_texts, text_states
from scheduler.texts.history import messages_for_sessions
from tests import factories
from tests.support.statements import statements

FIRST = date(2027, 3, 3)
SPAN = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC))


def _week(db: Session, *, measures_too: bool = False) -> list[TherapySession]:
    start, end = SPAN
    return sessions_between(db, start=start, end=end, people=True, measures=measures_too)


def _texts(db: Session, session: TherapySession) -> list[OutboundMessage]:
    query = select(OutboundMessage).where(OutboundMessage.session_id == session.id)
    return list(db.scalars(query.order_by(OutboundMessage.id)))


def _every_state(db: Session, ctx: ServiceContext) -> None:
    """Clients and sessions that between them reach each of the eight text states."""
    therapist = factories.therapist(db, ctx, "seattle")
    kinds = ("plain", "no_consent", "opted_out", "undeliverable")
    people = {
        kind: factories.client(
            db,
            ctx,
            "seattle",
            phone=f"+1206555{170 + n:04d}",
            sms_consent=kind != "no_consent",
            goal_prompt_consent=kind != "no_consent",
        )
        for n, kind in enumerate(kinds)
    }
    booked = {
        kind: factories.series(
            db,
            ctx,
            first=FIRST,
            at=time(9 + n),
            count=8,
            therapist_obj=therapist,
            client_obj=people[kind],
        )
        for n, kind in enumerate(kinds)
    }
    factories.opt_out_number(db, people["opted_out"].phone, datetime(2027, 2, 20, tzinfo=UTC))
    people["undeliverable"].phone_undeliverable_at = datetime(2027, 2, 21, tzinfo=UTC)
    first, second, third, fourth, fifth, *_ = sorted(
        booked["plain"].sessions, key=lambda s: s.starts_at
    )
    sent = datetime(2027, 3, 2, tzinfo=UTC)
    # Reminded: its reminder went out; a cancelled failure (left out) was made after it.
    reminder, *_ = _texts(db, first)
    reminder.status, reminder.sent_at = "delivered", sent
    for message in _texts(db, first)[1:]:
        message.status = "cancelled"
    # Failed: the text with the higher id failed, though it was made earlier than the one
    # that went out (the state follows the ids, as `text_states` reads them).
    older, newer, *_ = _texts(db, second)
    older.status, older.sent_at = "delivered", sent
    newer.status, newer.error_code = "failed", 30003
    newer.created_at = older.created_at - timedelta(hours=1)
    third.confirmed_at = sent  # confirmed
    fourth.status, fourth.cancelled_by = "cancelled", "practice"  # none
    assert fifth.status == "scheduled"  # pending: its reminders are planned
    db.commit()


def test_states_from_the_texts_read_are_the_states_text_states_reads(
    db: Session, ctx: ServiceContext, engine: Engine
) -> None:
    _every_state(db, ctx)
    db.expire_all()
    week = _week(db)
    texts = messages_for_sessions(db, [s.id for s in week])
    with statements(engine) as seen:
        derived = states_from_texts(week, texts)
    assert seen == []  # all of it was read already
    read = text_states(db, week)
    assert derived == read
    assert {state.state for state in read.values()} == set(TEXT_STATES)


def _measured(db: Session, ctx: ServiceContext) -> set[int]:
    """Two series whose plans ask for questionnaires; some of them answered. Their ids."""
    therapist = factories.therapist(db, ctx, "seattle")
    answered = set()
    for n in range(2):
        series = factories.series(
            db, ctx, first=FIRST, at=time(9 + n), count=12, therapist_obj=therapist,
            client_obj=factories.client(db, ctx, "seattle", phone=f"+1206555{180 + n:04d}"),
        )  # fmt: skip
        for s in sorted(series.sessions, key=lambda s: s.starts_at)[: 3 + n]:
            for instrument in measures.planned_for(series, s.number)[: 1 + n]:
                db.add(
                    MeasureResponse(
                        session_id=s.id, series_id=series.id, client_id=series.client_id,
                        instrument=instrument, answers=[0] * 9, score=0, severity="minimal",
                        source="staff",
                    )
                )  # fmt: skip
                answered.add(s.id)
    db.commit()
    return answered


def test_measures_loaded_with_the_sessions_answer_as_the_query_does(
    db: Session, ctx: ServiceContext, engine: Engine
) -> None:
    answered = _measured(db, ctx)
    db.expire_all()
    queried = measures.due_instruments(db, _week(db))
    db.expire_all()
    week = _week(db, measures_too=True)
    with statements(engine) as seen:
        loaded = measures.due_instruments(db, week)
    assert seen == []
    assert loaded == queried
    assert answered and all(s.id in loaded for s in week)
    due = {sid for sid, left in loaded.items() if left}
    assert due and due - answered  # some still due, some asked for nothing
    assert len(due) < len(loaded)


def test_the_answered_query_reads_the_same_for_any_number_of_sessions(
    db: Session, ctx: ServiceContext, engine: Engine
) -> None:
    """One statement text whatever the list's length (on PostgreSQL one array parameter),
    so a prepared statement serves every week; and it answers per session."""
    answered = _measured(db, ctx)
    week = sorted(_week(db), key=lambda s: s.id)
    asked = [[week[0].id], [s.id for s in week[:3]], [s.id for s in week]]
    texts = []
    for ids in asked:
        with statements(engine) as seen:
            found = measures.answered(db, ids)
        texts += seen
        assert set(found) == set(ids)
        assert {sid for sid, done in found.items() if done} == answered & set(ids)
    if engine.dialect.name == "postgresql":
        assert len(set(texts)) == 1, texts
