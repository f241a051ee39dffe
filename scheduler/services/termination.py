"""Termination planning: the front desk is asked to offer maintenance before a course ends.

Two sessions before the end (visit N-2 of N) the client is in the termination phase or about
to enter it, and the practice offers maintenance sessions. The desk gets one inbox task
"offer maintenance" for that client as soon as visit N-2 is the next visit, that is when
visit N-3 has ended, so the task is waiting when the client comes in for visit N-2.

Who opens it: every calendar change re-evaluates its series in the same transaction (the
`TerminationPlanner` observer), and the worker's housekeeping sweeps for series that became
due with the passing of time. Both are idempotent: a partial unique index allows one open
task per series, and a task staff resolved is final for that series. A task the system
opened is withdrawn (resolved by "system" with a note) when it stops being due, say when N
is renegotiated upwards or the series ends, and opens again when it is due again. Booking a
maintenance series that continues the course resolves the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ..db.models import Series, TherapySession
from ..db.models.inbound import InboxItem
from ..domain.phases import (
    CoursePhase,
    course_phase,
    offer_maintenance_before,
    termination_starts_at,
)
from ..locations import Location
from . import inbox
from .availability import closed_days
from .booking import SeriesRequest
from .context import ScheduleChange, ServiceContext

OFFER_KIND = "offer_maintenance"
# What "book maintenance" proposes: half a year of visits every four weeks.
MAINTENANCE_SESSIONS = 6
MAINTENANCE_CADENCE = 4
SYSTEM = "system"
# With no visit before it (a course of three or fewer), the task opens this long ahead.
LEAD_WITHOUT_PREVIOUS = timedelta(days=7)


@dataclass(frozen=True)
class CourseStatus:
    """Where a series stands: the phase of its next visit and whether termination has begun."""

    phase: CoursePhase | None  # of the next visit; None when no visit is left
    termination_starts_at: int | None  # session number; None for a maintenance series
    termination_starts_on: date | None
    termination_reached: bool
    sessions_left: int


def course_status(series: Series, now: datetime) -> CourseStatus:
    """The series' course at `now`: the next visit's phase, visits left, termination reached."""
    counting = sorted((s for s in series.sessions if s.counts), key=lambda s: s.starts_at)
    ahead = [s for s in counting if s.status == "scheduled" and s.ends_at > now]
    total = series.session_count
    upcoming = next((s for s in ahead if 1 <= s.number <= total), None)
    phase = course_phase(series.kind, upcoming.number, total) if upcoming is not None else None
    if series.kind == "maintenance":
        return CourseStatus(phase, None, None, False, len(ahead))
    first = termination_starts_at(total)
    at = next((s for s in counting if s.number == first and s.status != "cancelled"), None)
    held = [s for s in counting if s.ends_at <= now or s.status != "scheduled"]
    # Reached once the next visit is a termination visit, or the course got past its start.
    reached = (upcoming is not None and upcoming.number >= first) or (
        upcoming is None and any(s.number >= first for s in held)
    )
    return CourseStatus(
        phase, first, at.local_date if at is not None else None, reached, len(ahead)
    )


def offer_session(series: Series, now: datetime) -> TherapySession | None:
    """Visit N-2 if the offer is due at `now` (visit N-3 has ended), else None."""
    if series.kind != "acute" or series.status != "active":
        return None
    counting = {s.number: s for s in series.sessions if s.counts}
    target = offer_maintenance_before(series.session_count)
    at = counting.get(target)
    if at is None:
        return None
    before = counting.get(target - 1)
    due_from = before.ends_at if before is not None else at.starts_at - LEAD_WITHOUT_PREVIOUS
    return at if now >= due_from else None


def _items(db: Session, series_id: int) -> list[InboxItem]:
    query = select(InboxItem).where(InboxItem.series_id == series_id, InboxItem.kind == OFFER_KIND)
    return list(db.scalars(query))


def _settled(item: InboxItem) -> bool:
    """A task staff resolved (the offer was made, or declined): nothing more to open."""
    return item.status == "resolved" and item.resolved_by != SYSTEM


def evaluate(
    db: Session, series: Series, now: datetime, *, fresh: bool = False
) -> InboxItem | None:
    """Open, keep or withdraw the series' offer task as things stand; the open task, if any.

    `fresh`: the series was just booked, so it has no task to withdraw yet.
    """
    if fresh and offer_session(series, now) is None:
        return None  # saves the look-ups on every booking
    items = _items(db, series.id)
    current = next((i for i in items if i.status == "open"), None)
    if any(_settled(i) for i in items):
        return current
    at = None if _continued(db, series.id) else offer_session(series, now)
    if at is None:
        if current is not None:
            inbox.update_item(
                db,
                current.id,
                status="resolved",
                note=_withdrawn_because(series),
                actor=SYSTEM,
                at=now,
            )
        return None
    if current is not None:
        return current
    try:
        with db.begin_nested():  # another process may open it at the same moment
            return inbox.open_item(
                db,
                office_id=series.office_id,
                kind=OFFER_KIND,
                summary=_summary(series, at),
                at=now,
                client_id=series.client_id,
                session_id=at.id,
                series_id=series.id,
            )
    except IntegrityError:
        return next((i for i in _items(db, series.id) if i.status == "open"), None)


def _continued(db: Session, series_id: int) -> bool:
    """Is a maintenance series already booked to continue this course?"""
    query = select(Series.id).where(Series.continues_series_id == series_id, _live_maintenance())
    return db.scalar(query.limit(1)) is not None


def _live_maintenance() -> ColumnElement[bool]:
    return and_(Series.kind == "maintenance", Series.status == "active")


def _withdrawn_because(series: Series) -> str:
    if series.status != "active":
        return "Withdrawn: the series has ended."
    return (
        f"Withdrawn: the course now has {series.session_count} sessions; a new task opens "
        "two sessions before the new end."
    )


def _summary(series: Series, at: TherapySession) -> str:
    client = series.client
    zone = ZoneInfo(at.timezone)
    when = at.starts_at.astimezone(zone)
    last = max(
        (s for s in series.sessions if s.counts and s.status != "cancelled"),
        key=lambda s: s.starts_at,
        default=at,
    )
    clock = when.strftime("%I:%M %p").lstrip("0")  # "5:00 PM", as every page shows times
    return (
        f"Offer maintenance sessions to {client.first_name} {client.last_name}: visit "
        f"{at.number} of {series.session_count} is {when:%a} {when.day} {when:%b} at "
        f"{clock}; the course ends with visit {series.session_count} on "
        f"{last.local_date:%a} {last.local_date.day} {last.local_date:%b %Y}."
    )


def offer_task(db: Session, series_id: int) -> InboxItem | None:
    """The task the series page shows: the open one, else the latest (settled or withdrawn)."""
    items = _items(db, series_id)
    return next((i for i in items if i.status == "open"), None) or max(
        items, key=lambda i: i.id, default=None
    )


def follow_ups(db: Session, series_id: int) -> list[Series]:
    """Maintenance series booked to continue the course, oldest first."""
    query = select(Series).where(
        Series.continues_series_id == series_id, Series.kind == "maintenance"
    )
    return list(db.scalars(query.order_by(Series.first_session_date)))


def maintenance_booked(db: Session, maintenance: Series, *, actor: str, at: datetime) -> None:
    """The continued course's offer is done: resolve its open task on the booker's behalf."""
    if maintenance.continues_series_id is None:
        return
    note = f"Maintenance series #{maintenance.id} booked."
    for item in _items(db, maintenance.continues_series_id):
        if item.status == "open":
            inbox.update_item(db, item.id, status="resolved", note=note, actor=actor, at=at)


def sweep(db: Session, ctx: ServiceContext) -> int:
    """Open the tasks that time has made due (the worker's housekeeping); how many opened."""
    now = ctx.clock()
    before = aliased(TherapySession)
    follow_up = aliased(Series)
    continued = exists().where(
        follow_up.continues_series_id == Series.id,
        follow_up.kind == "maintenance",
        follow_up.status == "active",
    )
    done = exists().where(
        InboxItem.series_id == Series.id,
        InboxItem.kind == OFFER_KIND,
        or_(InboxItem.status == "open", InboxItem.resolved_by != SYSTEM),
    )
    due = (
        select(Series.id)
        .join(
            before,
            and_(
                before.series_id == Series.id,
                before.counts.is_(True),
                before.number == Series.session_count - 3,
                before.ends_at <= now,
            ),
        )
        .where(Series.kind == "acute", Series.status == "active", ~done, ~continued)
        .order_by(Series.id)
    )
    opened = 0
    for series_id in db.scalars(due).all():
        series = db.execute(
            select(Series).where(Series.id == series_id).with_for_update(of=Series)
        ).scalar_one()
        if evaluate(db, series, now) is not None:
            opened += 1
    return opened


def maintenance_request(series: Series, location: Location | None = None) -> SeriesRequest:
    """A maintenance series continuing `series`, prefilled for the booking form.

    Same client, therapist, office, weekday, time, length, room and problem area; every four
    weeks from four weeks after the last session that takes place. With the office given, a
    first date the office is closed (a holiday) moves a week on, up to three times: a skipped
    first date would be made up only at the end, leaving the client two months without a visit.
    """
    held = [s for s in series.sessions if s.status != "cancelled"]
    last = max((s.local_date for s in held), default=series.first_session_date)
    weekday = series.first_session_date.weekday()
    # The series' weekday, four weeks on (calendar days; the last visit may have been moved).
    first = last + timedelta(days=(weekday - last.weekday()) % 7 + 7 * MAINTENANCE_CADENCE)
    if location is not None:
        closed = closed_days(location, range(first.year, first.year + 2))
        for _ in range(3):
            if closed(first) is None:
                break
            first += timedelta(weeks=1)
    return SeriesRequest(
        client_id=series.client_id,
        therapist_id=series.therapist_id,
        location_id=series.office_id,
        first_session_date=first,
        start_time=series.start_time,
        session_count=MAINTENANCE_SESSIONS,
        problem_area=series.problem_area,
        duration_minutes=series.duration_minutes,
        room=series.room,
        kind="maintenance",
        cadence_weeks=MAINTENANCE_CADENCE,
        continues_series_id=series.id,
        measure_gad7=series.measure_gad7,
    )


class TerminationPlanner:
    """The ScheduleObserver that re-evaluates a series' offer task after every change."""

    def after_change(self, db: Session, change: ScheduleChange) -> None:
        series = change.series
        if change.kind == "booked" and series.kind == "maintenance":
            maintenance_booked(db, series, actor=change.actor, at=change.now)
            return
        evaluate(db, series, change.now, fresh=change.kind == "booked")
