"""The course at a glance: every session's number, phase and attendance, the weekly goals and
ratings, and the measure scores with their severity bands, read in a fixed number of queries.

Clinical: only the treating therapist and admins may be shown a CourseView
(services.access: read_clinical on the series; the edges ask before calling).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Alert, Series, TherapySession
from ..db.models.inbound import ProgressRating
from ..domain import measures as domain
from ..domain.phases import course_phase
from . import alerts, measures
from .termination import CourseStatus, course_status


@dataclass(frozen=True)
class MeasurePoint:
    instrument: str
    session_id: int
    number: int | None
    score: int
    severity: str
    max_score: int
    # PHQ-9 item 9 (None for other instruments): the answer the safe path watches.
    risk_item: int | None
    taken_at: datetime
    source: str


@dataclass(frozen=True)
class CourseSession:
    id: int
    number: int | None  # None: a cancelled week that no longer counts (it was made up)
    phase: str | None
    local_date: date
    local_time: time
    timezone: str
    starts_at: datetime
    # attended | no_show | cancelled | scheduled (still ahead) | unrecorded (past, not marked)
    attendance: str
    cancelled_by: str | None
    made_up: bool  # a cancelled week replaced by a make-up week at the end
    is_make_up: bool
    confirmed: bool
    weekly_goal: str | None
    ratings: tuple[int, ...]
    measures: tuple[MeasurePoint, ...]
    measures_due: tuple[str, ...]


@dataclass(frozen=True)
class CourseWeek:
    """One slot of the series' rhythm (a week, or `cadence` weeks for maintenance)."""

    index: int
    starts_on: date
    sessions: tuple[CourseSession, ...]


@dataclass(frozen=True)
class CourseView:
    series: Series
    status: CourseStatus
    sessions: tuple[CourseSession, ...]
    weeks: tuple[CourseWeek, ...]
    measures: dict[str, tuple[MeasurePoint, ...]]
    alerts: tuple[Alert, ...]


def attendance_of(s: TherapySession, now: datetime) -> str:
    if s.status in ("attended", "no_show", "cancelled"):
        return s.status
    return "scheduled" if s.starts_at > now else "unrecorded"


def _phase(series: Series, s: TherapySession) -> str | None:
    if not s.counts or not 1 <= s.number <= series.session_count:
        return None
    return course_phase(series.kind, s.number, series.session_count)


def course_view(db: Session, series: Series, now: datetime) -> CourseView:
    """Everything the course page and GET /series/{id}/course show."""
    sessions = sorted(series.sessions, key=lambda s: s.starts_at)
    ids = [s.id for s in sessions]
    ratings: dict[int, list[int]] = defaultdict(list)
    if ids:
        rows = db.execute(
            select(ProgressRating.session_id, ProgressRating.rating)
            .where(ProgressRating.session_id.in_(ids))
            .order_by(ProgressRating.received_at, ProgressRating.id)
        )
        for session_id, rating in rows:
            ratings[session_id].append(rating)
    numbers = {s.id: (s.number if s.counts else None) for s in sessions}
    points: dict[int, list[MeasurePoint]] = defaultdict(list)
    by_instrument: dict[str, list[MeasurePoint]] = defaultdict(list)
    for m in measures.of_series(db, series.id):
        spec = domain.spec(m.instrument)
        point = MeasurePoint(
            instrument=m.instrument,
            session_id=m.session_id,
            number=numbers.get(m.session_id),
            score=m.score,
            severity=m.severity,
            max_score=spec.max_score,
            risk_item=m.answers[domain.PHQ9_RISK_ITEM] if m.instrument == "phq9" else None,
            taken_at=m.taken_at,
            source=m.source,
        )
        points[m.session_id].append(point)
        by_instrument[m.instrument].append(point)
    due = measures.due_instruments(db, sessions)
    rows_out = tuple(
        CourseSession(
            id=s.id,
            number=numbers[s.id],
            phase=_phase(series, s),
            local_date=s.local_date,
            local_time=s.local_time,
            timezone=s.timezone,
            starts_at=s.starts_at,
            attendance=attendance_of(s, now),
            cancelled_by=s.cancelled_by,
            made_up=s.status == "cancelled" and not s.counts,
            is_make_up=s.is_make_up,
            confirmed=s.confirmed_at is not None,
            weekly_goal=s.weekly_goal,
            ratings=tuple(ratings.get(s.id, ())),
            measures=tuple(points.get(s.id, ())),
            measures_due=due.get(s.id, ()),
        )
        for s in sessions
    )
    return CourseView(
        series=series,
        status=course_status(series, now),
        sessions=rows_out,
        weeks=_weeks(series, rows_out),
        measures={k: tuple(v) for k, v in by_instrument.items()},
        alerts=tuple(alerts.alerts_of_series(db, series.id)),
    )


def _weeks(series: Series, sessions: tuple[CourseSession, ...]) -> tuple[CourseWeek, ...]:
    """The series' slots from its first to its last session, empty ones included."""
    if not sessions:
        return ()
    step = 7 * max(1, series.cadence_weeks)
    first = min(series.first_session_date, sessions[0].local_date)
    # Slots start on the first session's weekday; a moved session lands in the slot it is in.
    slots: dict[int, list[CourseSession]] = defaultdict(list)
    for s in sessions:
        slots[(s.local_date - first).days // step].append(s)
    last = max(slots)
    return tuple(
        CourseWeek(
            index=i + 1,
            starts_on=first + timedelta(days=step * i),
            sessions=tuple(slots.get(i, ())),
        )
        for i in range(last + 1)
    )
