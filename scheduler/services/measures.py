"""Recording symptom measures (PHQ-9, GAD-7) for a session, and what the measure plan asks for.

A measure is recorded once per session and instrument, whoever enters it: the client on the
in-office form or the texted link, or the therapist from a paper form through the API. A
PHQ-9 whose item 9 is above "Not at all" raises an urgent alert in the same transaction
(services.alerts); nothing about a measure is ever texted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db.models import Alert, MeasureResponse, Series, TherapySession
from ..db.sql import one_of
from ..domain import measures as domain
from . import alerts, audit
from .context import ServiceContext
from .errors import Conflict, Invalid
from .session_changes import get_session
from .session_view import AnySeries, AnySession, SessionView

# A questionnaire is about the weeks before a visit: it may be answered from this long before
# the session starts (the texted link goes out 24 hours before).
EARLIEST_BEFORE = timedelta(days=7)


@dataclass(frozen=True)
class Recorded:
    measure: MeasureResponse
    alert: Alert | None


def planned_for(series: AnySeries, number: int) -> tuple[domain.Instrument, ...]:
    """The instruments the series' plan asks for at session `number`."""
    return domain.planned_instruments(
        series.measure_schedule,  # type: ignore[arg-type]  # validated when stored
        series.measure_gad7,
        number,
        series.session_count,
    )


def _planned_session(s: AnySession) -> tuple[domain.Instrument, ...]:
    if not s.counts or s.status == "cancelled":
        return ()
    return planned_for(s.series, s.number)


def answered(db: Session, session_ids: Iterable[int]) -> dict[int, set[str]]:
    """The instruments already answered for each session (one query)."""
    ids = list(session_ids)
    found: dict[int, set[str]] = {i: set() for i in ids}
    if not ids:
        return found
    conn = db.connection()
    for session_id, instrument in conn.execute(_answered(conn.dialect.name), {"ids": ids}):
        found[session_id].add(instrument)
    return found


@cache
def _answered(dialect: str) -> Any:
    """`answered`'s statement, built once per dialect; its text is the same however many
    sessions a list asks about (an office's week asks about some fifty), so PostgreSQL
    keeps it prepared instead of planning a new IN list each time."""
    m = MeasureResponse
    return select(m.session_id, m.instrument).where(one_of(dialect, m.session_id, "ids"))


def _loaded_measures(session: AnySession) -> AbstractSet[str] | None:
    """The instruments answered, when the session came with its measures (a view: when its
    read brought them, `SessionView.answered`); else None, and one query asks for all of
    them."""
    if isinstance(session, SessionView):
        return session.answered
    if "measures" in inspect(session).unloaded:
        return None
    return {m.instrument for m in session.measures}


def due_instruments(
    db: Session, sessions: Sequence[AnySession]
) -> dict[int, tuple[domain.Instrument, ...]]:
    """Per session: the planned instruments not answered yet (one query for all of them; none
    when the sessions came with their measures, `queries.sessions_between(measures=True)`)."""
    planned = {s.id: _planned_session(s) for s in sessions}
    asking = [s for s in sessions if planned[s.id]]
    done: dict[int, AbstractSet[str]] = {
        s.id: found for s in asking if (found := _loaded_measures(s)) is not None
    }
    done |= answered(db, [s.id for s in asking if s.id not in done])
    return {
        sid: tuple(i for i in wanted if i not in done.get(sid, set()))
        for sid, wanted in planned.items()
    }


def measure_due(db: Session, sessions: Sequence[AnySession]) -> dict[int, bool]:
    """What the front desk may know: is a questionnaire due at each session?"""
    return {sid: bool(left) for sid, left in due_instruments(db, sessions).items()}


def answerable_from(session: AnySession) -> datetime:
    """When questionnaires for `session` may first be answered (or handed a link for)."""
    return session.starts_at - EARLIEST_BEFORE


def check_answerable(session: TherapySession, now: datetime) -> None:
    """Invalid unless a questionnaire can be recorded for `session` at `now`."""
    if session.status == "cancelled":
        raise Invalid({"session_id": "the session was cancelled"})
    if answerable_from(session) > now:
        raise Invalid(
            {"session_id": "a questionnaire can be answered from 7 days before its session"}
        )


def record(
    db: Session,
    ctx: ServiceContext,
    session_id: int,
    instrument: str,
    answers: Sequence[object],
    *,
    difficulty: object = None,
    source: str,
    actor: str,
) -> Recorded:
    """Score and store one questionnaire; raise the alert if it signals risk.

    Invalid (naming the field) for answers that do not fit the instrument, Conflict if the
    session already has this questionnaire. Nothing is written when either is raised.
    """
    if source not in ("office", "link", "staff"):
        raise ValueError(f"unknown measure source {source!r}")
    try:
        scored = domain.score(instrument, answers)
        difficulty_value = domain.check_difficulty(difficulty)
    except domain.AnswersInvalid as exc:
        raise Invalid({exc.field: exc.message}) from None
    session = get_session(db, session_id, lock=True)
    now = ctx.clock()
    check_answerable(session, now)
    if instrument in answered(db, [session.id])[session.id]:
        raise _already(instrument)
    measure = MeasureResponse(
        session_id=session.id,
        series_id=session.series_id,
        client_id=session.series.client_id,
        instrument=scored.instrument,
        answers=list(scored.answers),
        difficulty=difficulty_value,
        score=scored.score,
        severity=scored.severity,
        source=source,
        recorded_by=actor,
        taken_at=now,
    )
    try:
        with db.begin_nested():  # two submissions racing: the unique constraint decides
            db.add(measure)
            db.flush()
    except IntegrityError:
        raise _already(instrument) from None
    # No series_id and no score: the series page's audit trail is read by the front desk.
    audit.record(
        db,
        actor=actor,
        action="measure.recorded",
        entity="measure",
        entity_id=measure.id,
        session_id=session.id,
        instrument=scored.instrument,
        source=source,
    )
    alert = alerts.raise_risk_alert(db, measure, session, at=now) if scored.risk else None
    return Recorded(measure, alert)


def _already(instrument: str) -> Conflict:
    name = domain.spec(instrument).name
    message = f"the {name} was already answered for this session"
    return Conflict(
        [{"reason": "already_recorded", "instrument": instrument, "message": message}],
        message=message,
    )


def of_series(db: Session, series_id: int) -> list[MeasureResponse]:
    """Every measure of a series in the order the sessions took place."""
    query = (
        select(MeasureResponse)
        .join(TherapySession, TherapySession.id == MeasureResponse.session_id)
        .where(MeasureResponse.series_id == series_id)
        .order_by(TherapySession.starts_at, MeasureResponse.instrument, MeasureResponse.id)
    )
    return list(db.scalars(query))


def change_plan(
    db: Session,
    ctx: ServiceContext,
    series_id: int,
    *,
    schedule: str | None,
    gad7: bool | None,
    actor: str,
) -> Series:
    """Change when measures are due (and whether the GAD-7 is asked); audited.

    The questionnaire links the series' texts carry follow the new plan at once.
    """
    if schedule is None and gad7 is None:
        raise Invalid({"body": "give measure_schedule and/or measure_gad7"})
    if schedule is not None and schedule not in domain.MEASURE_SCHEDULES:
        raise Invalid({"measure_schedule": "must be one of " + ", ".join(domain.MEASURE_SCHEDULES)})
    series = db.execute(
        select(Series).where(Series.id == series_id).with_for_update(of=Series)
    ).scalar_one()
    before = {"schedule": series.measure_schedule, "gad7": series.measure_gad7}
    if schedule is not None:
        series.measure_schedule = schedule
    if gad7 is not None:
        series.measure_gad7 = gad7
    audit.record(
        db,
        actor=actor,
        action="measures.plan_changed",
        entity="series",
        entity_id=series.id,
        before=before,
        after={"schedule": series.measure_schedule, "gad7": series.measure_gad7},
    )
    db.flush()
    ctx.texts.replan_client(db, ctx, series.client_id)
    return series
