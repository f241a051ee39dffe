"""Course outcomes for admins, per office and therapist, aggregated in SQL.

A course is an acute series whose first session falls in the period and has begun. For each
office and therapist the report counts:

- started: such courses;
- completed: courses whose visit N was attended (they reached N);
- dropped: courses not completed that will not get there: the series ended early, or no
  visit has been attended for 3 weeks (21 days, counted from the first session if none was);
- attendance rate: attended / (attended + no-show + cancelled by the client, where the
  cancellation used up a session), over sessions that have started;
- confirmed by text: the share of sessions that started (and were not cancelled) whose client
  confirmed by replying C;
- PHQ-9 change: the mean of last minus first PHQ-9 total, over courses with two or more
  (negative is improvement), and how many courses that mean is over.

Two statements whatever the number of rows: the per-course figures are a subquery and the
office x therapist grouping happens in the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Subquery, and_, case, func, select
from sqlalchemy.orm import Session

from ..db.models import MeasureResponse, Office, Series, Therapist, TherapySession
from ..inputs import date_problem
from .errors import Invalid

DROPPED_AFTER = timedelta(weeks=3)
MAX_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True)
class OutcomeRow:
    office_id: str
    office_name: str
    therapist_id: int | None  # None: the office's total (or the practice's, with office "")
    therapist_name: str
    started: int
    completed: int
    dropped: int
    attended: int
    attendance_base: int
    confirmed: int
    confirm_base: int
    phq9_courses: int
    phq9_change_sum: int

    @property
    def ongoing(self) -> int:
        return self.started - self.completed - self.dropped

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.attendance_base if self.attendance_base else None

    @property
    def confirmed_share(self) -> float | None:
        return self.confirmed / self.confirm_base if self.confirm_base else None

    @property
    def phq9_change(self) -> float | None:
        return self.phq9_change_sum / self.phq9_courses if self.phq9_courses else None


@dataclass(frozen=True)
class CourseReport:
    start: date
    end: date
    as_of: datetime
    rows: tuple[OutcomeRow, ...]  # one per office and therapist
    offices: tuple[OutcomeRow, ...]  # one per office
    total: OutcomeRow


DEFAULT_PERIOD = timedelta(days=365)


def check_period(start: date, end: date) -> None:
    if end < start:
        raise Invalid({"to": "is before from"})
    if (end - start).days > MAX_PERIOD_DAYS:
        raise Invalid({"to": f"at most {MAX_PERIOD_DAYS} days after from"})


def period(raw_from: str | None, raw_to: str | None, today: date) -> tuple[date, date]:
    """The report's period from its `from`/`to` texts (default: the year up to today)."""
    problems: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name, raw in (("from", raw_from), ("to", raw_to)):
        try:
            days[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            problems[name] = "must be a date like 2027-03-01"
        else:
            if (day := days[name]) and (problem := date_problem(day)):
                problems[name] = problem
    if problems:
        raise Invalid(problems)
    end = days["to"] or today
    start = days["from"] or end - DEFAULT_PERIOD
    check_period(start, end)
    return start, end


def _per_course(start: date, end: date, now: datetime) -> Subquery:
    """One row per course begun in the period with its figures (a subquery)."""
    s = TherapySession
    attended = s.status == "attended"
    started_sessions = s.starts_at <= now
    counted_cancel = and_(s.status == "cancelled", s.cancelled_by == "client", s.counts.is_(True))
    held = and_(started_sessions, s.status != "cancelled")
    per_course = (
        select(
            Series.id.label("series_id"),
            Series.office_id,
            Series.therapist_id,
            Series.status,
            func.max(case((and_(attended, s.number == Series.session_count), 1), else_=0)).label(
                "completed"
            ),
            func.max(case((attended, s.starts_at))).label("last_visit"),
            func.min(s.starts_at).label("first_start"),
            func.sum(case((and_(started_sessions, attended), 1), else_=0)).label("attended"),
            func.sum(
                case(
                    (and_(started_sessions, s.status.in_(("attended", "no_show"))), 1),
                    (and_(started_sessions, counted_cancel), 1),
                    else_=0,
                )
            ).label("attendance_base"),
            func.sum(case((and_(held, s.confirmed_at.is_not(None)), 1), else_=0)).label(
                "confirmed"
            ),
            func.sum(case((held, 1), else_=0)).label("confirm_base"),
        )
        .join(s, s.series_id == Series.id)
        .where(
            Series.kind == "acute",
            Series.first_session_date >= start,
            Series.first_session_date <= end,
        )
        .group_by(Series.id, Series.office_id, Series.therapist_id, Series.status)
        .having(func.min(s.starts_at) <= now)
    )
    return per_course.subquery("per_course")


def _phq9_change() -> Subquery:
    """Per series with two or more PHQ-9s: last total minus first (a subquery)."""
    m = MeasureResponse
    ranked = (
        select(
            m.series_id,
            m.score,
            func.row_number()
            .over(partition_by=m.series_id, order_by=(m.taken_at, m.id))
            .label("from_first"),
            func.row_number()
            .over(partition_by=m.series_id, order_by=(m.taken_at.desc(), m.id.desc()))
            .label("from_last"),
        )
        .where(m.instrument == "phq9")
        .subquery("ranked")
    )
    return (
        select(
            ranked.c.series_id,
            (
                func.sum(case((ranked.c.from_last == 1, ranked.c.score), else_=0))
                - func.sum(case((ranked.c.from_first == 1, ranked.c.score), else_=0))
            ).label("change"),
        )
        .group_by(ranked.c.series_id)
        .having(func.count() >= 2)
        .subquery("phq9_change")
    )


def course_outcomes(db: Session, start: date, end: date, now: datetime) -> CourseReport:
    """The report for courses whose first session is in [start, end], as things stand at now."""
    check_period(start, end)
    course = _per_course(start, end, now)
    change = _phq9_change()
    silent_since = func.coalesce(course.c.last_visit, course.c.first_start)
    dropped = case(
        (course.c.completed == 1, 0),
        (course.c.status != "active", 1),
        (silent_since <= now - DROPPED_AFTER, 1),
        else_=0,
    )
    query = (
        select(
            course.c.office_id,
            Office.name.label("office_name"),
            course.c.therapist_id,
            Therapist.name.label("therapist_name"),
            func.count().label("started"),
            func.sum(course.c.completed).label("completed"),
            func.sum(dropped).label("dropped"),
            func.sum(course.c.attended).label("attended"),
            func.sum(course.c.attendance_base).label("attendance_base"),
            func.sum(course.c.confirmed).label("confirmed"),
            func.sum(course.c.confirm_base).label("confirm_base"),
            func.count(change.c.series_id).label("phq9_courses"),
            func.coalesce(func.sum(change.c.change), 0).label("phq9_change_sum"),
        )
        .join(Office, Office.id == course.c.office_id)
        .join(Therapist, Therapist.id == course.c.therapist_id)
        .outerjoin(change, change.c.series_id == course.c.series_id)
        .group_by(course.c.office_id, Office.name, course.c.therapist_id, Therapist.name)
        .order_by(Office.name, Therapist.name, course.c.therapist_id)
    )
    rows = tuple(
        OutcomeRow(
            office_id=r.office_id,
            office_name=r.office_name,
            therapist_id=r.therapist_id,
            therapist_name=r.therapist_name,
            **{k: int(getattr(r, k) or 0) for k in _COUNTS},
        )
        for r in db.execute(query)
    )
    offices: list[OutcomeRow] = []
    for office_id in dict.fromkeys(r.office_id for r in rows):
        mine = [r for r in rows if r.office_id == office_id]
        offices.append(_sum(mine, office_id, mine[0].office_name, "All therapists"))
    total = _sum(rows, "", "All offices", "All therapists")
    return CourseReport(start, end, now, rows, tuple(offices), total)


_COUNTS = (
    "started",
    "completed",
    "dropped",
    "attended",
    "attendance_base",
    "confirmed",
    "confirm_base",
    "phq9_courses",
    "phq9_change_sum",
)


def _sum(rows: Sequence[OutcomeRow], office_id: str, office: str, therapist: str) -> OutcomeRow:
    return OutcomeRow(
        office_id=office_id,
        office_name=office,
        therapist_id=None,
        therapist_name=therapist,
        **{k: sum(int(getattr(r, k)) for r in rows) for k in _COUNTS},
    )


CSV_COLUMNS = (
    "office_id",
    "office",
    "therapist_id",
    "therapist",
    "courses_started",
    "completed",
    "dropped",
    "ongoing",
    "attendance_rate",
    "confirmed_by_text_share",
    "phq9_courses",
    "phq9_mean_change",
)


def _cell(text: str) -> str:
    """Text a spreadsheet would not run as a formula (names are typed in by staff)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def as_csv(report: CourseReport) -> str:
    """The report as CSV: one line per office and therapist, each office's total, the total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in (*report.rows, *report.offices, report.total):
        writer.writerow(
            [
                row.office_id,
                _cell(row.office_name),
                "" if row.therapist_id is None else row.therapist_id,
                _cell(row.therapist_name),
                row.started,
                row.completed,
                row.dropped,
                row.ongoing,
                _ratio(row.attendance_rate),
                _ratio(row.confirmed_share),
                row.phq9_courses,
                "" if row.phq9_change is None else f"{row.phq9_change:.2f}",
            ]
        )
    return out.getvalue()
