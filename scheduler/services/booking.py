"""Booking a client's weekly IPT series: validate, expand in wall-clock time, check, write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import partial
from typing import Literal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..db.models import Client, Series, Therapist, TherapySession, therapist_offices
from ..db.types import utcnow
from ..domain.measures import MEASURE_SCHEDULES
from ..domain.phases import (
    CADENCES,
    MAINTENANCE_MAX_SESSIONS,
    PROBLEM_AREAS,
    SERIES_KINDS,
    CoursePhase,
    course_phase,
)
from ..domain.series import (
    ClosureRejected,
    LocalTimeError,
    PlannedSession,
    SeriesPlan,
    Skip,
    plan_series,
)
from ..locations import Location
from . import audit
from .availability import Slot, closed_days, find_conflicts, hours_problems, years_spanned
from .conflicts import closed_blocker, closed_message
from .context import ScheduleChange, ServiceContext
from .errors import Conflict, Invalid, NotFound


@dataclass(frozen=True)
class SeriesRequest:
    client_id: int
    therapist_id: int
    location_id: str
    first_session_date: date
    start_time: time
    session_count: int
    problem_area: str
    duration_minutes: int = 50
    room: str | None = None
    closure_policy: Literal["skip", "reject"] = "skip"
    kind: str = "acute"
    cadence_weeks: int = 1
    continues_series_id: int | None = None
    # None: the kind's default (standard points for a course, every visit for maintenance).
    measure_schedule: str | None = None
    measure_gad7: bool = False

    @property
    def schedule(self) -> str:
        if self.measure_schedule is not None:
            return self.measure_schedule
        return "every_session" if self.kind == "maintenance" else "standard"


@dataclass(frozen=True)
class Booking:
    series: Series
    skipped: tuple[Skip, ...]


@dataclass(frozen=True)
class Preview:
    """What booking would do, without writing: the plan and everything that stands in its way."""

    location: Location
    plan: SeriesPlan | None
    conflicts: list[dict[str, object]]
    error: str | None = None


def location_for(ctx: ServiceContext, location_id: str) -> Location:
    location = ctx.locations.get(location_id)
    if location is None:
        raise NotFound("location", location_id, field="location_id")
    return location


def validate(ctx: ServiceContext, req: SeriesRequest, location: Location) -> None:
    problems: dict[str, str] = {}
    lo, hi = session_count_range(ctx, req.kind)
    if req.kind not in SERIES_KINDS:
        problems["kind"] = "must be one of " + ", ".join(SERIES_KINDS)
    elif not lo <= req.session_count <= hi:
        problems["session_count"] = f"must be between {lo} and {hi}"
    if req.cadence_weeks not in CADENCES:
        problems["cadence_weeks"] = "must be one of " + ", ".join(map(str, CADENCES))
    if req.continues_series_id is not None and req.kind != "maintenance":
        problems["continues_series_id"] = "only a maintenance series continues a course"
    if req.schedule not in MEASURE_SCHEDULES:
        problems["measure_schedule"] = "must be one of " + ", ".join(MEASURE_SCHEDULES)
    if req.problem_area not in PROBLEM_AREAS:
        problems["problem_area"] = "must be one of " + ", ".join(PROBLEM_AREAS)
    if not 15 <= req.duration_minutes <= 240:
        problems["duration_minutes"] = "must be between 15 and 240"
    if req.room is not None and req.room not in location.rooms:
        problems["room"] = f"{location.name} has no room {req.room!r}"
    today = ctx.clock().astimezone(location.tz).date()
    if req.first_session_date < today:
        problems["first_session_date"] = f"is in the past ({location.name} date is {today})"
    if problems:
        raise Invalid(problems)


def session_count_range(ctx: ServiceContext, kind: str) -> tuple[int, int]:
    """Allowed N: the practice's course lengths, or 1-12 for a maintenance series."""
    if kind == "maintenance":
        return 1, MAINTENANCE_MAX_SESSIONS
    return ctx.settings.session_count_min, ctx.settings.session_count_max


def phases_of(kind: str) -> Callable[[int, int], CoursePhase]:
    """The phase function of a series kind, for the domain's planner."""
    return partial(course_phase, kind)


def plan(ctx: ServiceContext, req: SeriesRequest, location: Location) -> SeriesPlan:
    """Expand the series in the office's wall-clock time; closures handled per the policy."""
    weeks = req.session_count * req.cadence_weeks
    closed = closed_days(location, years_spanned(req.first_session_date, weeks))
    try:
        return plan_series(
            first_date=req.first_session_date,
            start_time=req.start_time,
            zone=location.timezone,
            session_count=req.session_count,
            duration=timedelta(minutes=req.duration_minutes),
            closed=closed,
            policy=req.closure_policy,
            cadence_weeks=req.cadence_weeks,
            phase=phases_of(req.kind),
        )
    except LocalTimeError as exc:
        raise Invalid({"start_time": str(exc)}) from None
    except ClosureRejected as exc:
        raise Conflict(
            [closed_conflict(location, s.day, s.reason) for s in exc.skipped],
            message="the office is closed on some of these dates",
        ) from None


def closed_conflict(location: Location, day: date, reason: str) -> dict[str, object]:
    """A week the series cannot have because the office is shut (no session number yet)."""
    blocker = closed_blocker(location, day, reason)
    return {
        "date": day.isoformat(),
        "reason": "closed",
        "message": closed_message(blocker),
        "blocked_by": blocker,
    }


def _slots(planned: tuple[PlannedSession, ...]) -> list[Slot]:
    return [Slot(p.number, p.starts_at, p.ends_at) for p in planned]


def preview(db: Session, ctx: ServiceContext, req: SeriesRequest) -> Preview:
    """The booking form's live preview: same checks as `book_series`, nothing written."""
    location = location_for(ctx, req.location_id)
    try:
        validate(ctx, req, location)
        series_plan = plan(ctx, req, location)
    except Invalid as exc:
        return Preview(location, None, [], error="; ".join(exc.fields.values()))
    except Conflict as exc:
        return Preview(location, None, exc.conflicts, error=str(exc))
    slots = _slots(series_plan.sessions)
    conflicts = hours_problems(location, slots) + find_conflicts(
        db,
        location,
        therapist_id=req.therapist_id,
        room=req.room,
        client_id=req.client_id or None,  # 0: a new client, who has no sessions yet
        slots=slots,
    )
    return Preview(location, series_plan, conflicts)


def book_series(db: Session, ctx: ServiceContext, req: SeriesRequest, *, actor: str) -> Booking:
    """Book all N sessions or none. Raises NotFound, Invalid or Conflict before any write."""
    location = location_for(ctx, req.location_id)
    # Lock the therapist row for the rest of the transaction: two desks booking the same
    # therapist at once are serialised here, so the conflict check below cannot go stale.
    works_here = (
        select(therapist_offices.c.office_id)
        .where(
            therapist_offices.c.therapist_id == Therapist.id,
            therapist_offices.c.office_id == location.id,
        )
        .exists()
    )
    therapist = db.execute(
        select(Therapist.id, Therapist.name, works_here.label("works_here"))
        .where(Therapist.id == req.therapist_id)
        .with_for_update(of=Therapist)
    ).one_or_none()
    if therapist is None:
        raise NotFound("therapist", req.therapist_id, field="therapist_id")
    # The client's row is locked too: two desks booking the same client with two therapists at
    # the same hour are serialised, so the client_busy check cannot go stale either.
    client_exists = db.scalar(select(Client.id).where(Client.id == req.client_id).with_for_update())
    if client_exists is None:
        raise NotFound("client", req.client_id, field="client_id")
    if not therapist.works_here:
        raise Invalid({"therapist_id": f"{therapist.name} does not work at {location.name}"})
    validate(ctx, req, location)
    if req.continues_series_id is not None:
        _check_continued(db, req)
    series_plan = plan(ctx, req, location)
    if series_plan.sessions[0].starts_at <= ctx.clock():
        raise Invalid({"start_time": "the first session would start in the past"})
    slots = _slots(series_plan.sessions)
    conflicts = hours_problems(location, slots) + find_conflicts(
        db, location, therapist_id=therapist.id, room=req.room, client_id=req.client_id, slots=slots
    )
    if conflicts:
        raise Conflict(conflicts)

    series = Series(
        client_id=req.client_id,
        therapist_id=therapist.id,
        office_id=location.id,
        first_session_date=series_plan.sessions[0].local_date,
        start_time=req.start_time,
        session_count=req.session_count,
        duration_minutes=req.duration_minutes,
        problem_area=req.problem_area,
        room=req.room,
        kind=req.kind,
        cadence_weeks=req.cadence_weeks,
        continues_series_id=req.continues_series_id,
        measure_schedule=req.schedule,
        measure_gad7=req.measure_gad7,
        created_by=actor,
    )
    db.add(series)
    db.flush()
    # One executemany without RETURNING, then one read back: SQLite cannot return ids of a
    # multi-row insert in a guaranteed order, so the ORM would otherwise insert row by row.
    db.execute(
        insert(TherapySession),
        [session_values(series, p, req.room) for p in series_plan.sessions],
    )
    sessions = db.scalars(
        select(TherapySession)
        .where(TherapySession.series_id == series.id)
        .order_by(TherapySession.starts_at)
    ).all()
    set_committed_value(series, "sessions", list(sessions))
    audit.record(
        db,
        actor=actor,
        action="series.booked",
        entity="series",
        entity_id=series.id,
        series_id=series.id,
        session_count=req.session_count,
        kind=req.kind,
        cadence_weeks=req.cadence_weeks,
        continues_series_id=req.continues_series_id,
        first=series_plan.sessions[0].starts_at.isoformat(),
        skipped=[{"date": s.day.isoformat(), "reason": s.reason} for s in series_plan.skipped],
    )
    ctx.notify(db, ScheduleChange("booked", series, series.sessions, actor, ctx.clock()))
    return Booking(series, series_plan.skipped)


def _check_continued(db: Session, req: SeriesRequest) -> None:
    """A maintenance series continues a course of the same client (visibility: the edge's)."""
    owner = db.scalar(select(Series.client_id).where(Series.id == req.continues_series_id))
    if owner is None:
        raise NotFound("series", req.continues_series_id, field="continues_series_id")
    if owner != req.client_id:
        raise Invalid({"continues_series_id": "is a series of another client"})


def session_values(series: Series, p: PlannedSession, room: str | None) -> dict[str, object]:
    """Column values of a new session planned for `series`."""
    return {
        "series_id": series.id,
        "therapist_id": series.therapist_id,
        "office_id": series.office_id,
        "number": p.number,
        "counts": True,
        "is_make_up": False,
        "local_date": p.local_date,
        "local_time": p.local_time,
        "timezone": p.zone,
        "starts_at": p.starts_at,
        "ends_at": p.ends_at,
        "room": room,
        "status": "scheduled",
        "revision": 0,
        "updated_at": utcnow(),
    }


def session_from_plan(series: Series, p: PlannedSession, room: str | None) -> TherapySession:
    values = session_values(series, p, room)
    del values["series_id"]
    return TherapySession(series=series, **values)
