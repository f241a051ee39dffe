"""Changing single sessions and whole series: reschedule, cancel, attendance, renegotiate N."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Series, Therapist, TherapySession
from ..db.types import utcnow
from ..domain.series import LocalTimeError, plan_series, resolve_local
from ..locations import Location
from . import audit
from .availability import Slot, closed_days, find_conflicts, hours_problems
from .booking import phases_of, session_count_range, session_from_plan
from .context import ChangeKind, ScheduleChange, ServiceContext
from .errors import Conflict, Invalid, NotFound

CancelledBy = Literal["client", "practice"]
# How far past the last session a make-up week may be looked for before giving up.
MAKE_UP_SEARCH_WEEKS = 8


def get_session(db: Session, session_id: int, *, lock: bool = False) -> TherapySession:
    query = select(TherapySession).where(TherapySession.id == session_id)
    if lock:
        query = query.with_for_update(of=TherapySession)
    found = db.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound("session", session_id)
    return found


def _location(ctx: ServiceContext, office_id: str) -> Location:
    location = ctx.locations.get(office_id)
    if location is None:  # the office left locations.yaml; its sessions are read-only now
        raise Invalid({"location_id": f"office {office_id} is no longer configured"})
    return location


def _lock_therapist(db: Session, therapist_id: int) -> None:
    db.execute(select(Therapist.id).where(Therapist.id == therapist_id).with_for_update())


def _touch(session: TherapySession) -> None:
    session.revision += 1
    session.updated_at = utcnow()


def _emit(
    db: Session,
    ctx: ServiceContext,
    kind: ChangeKind,
    series: Series,
    sessions: list[TherapySession],
    actor: str,
) -> None:
    ctx.notify(db, ScheduleChange(kind, series, sessions, actor, ctx.clock()))


def reschedule(
    db: Session, ctx: ServiceContext, session_id: int, new_local: datetime, *, actor: str
) -> TherapySession:
    """Move one session to a new local date and time at the same office."""
    session = get_session(db, session_id, lock=True)
    location = _location(ctx, session.office_id)
    if session.status != "scheduled":
        raise Invalid(
            {"status": f"only a scheduled session can be moved (this one is {session.status})"}
        )
    _lock_therapist(db, session.therapist_id)
    try:
        starts = resolve_local(new_local.date(), new_local.time(), location.timezone)
    except LocalTimeError as exc:
        raise Invalid({"starts_at_local": str(exc)}) from None
    now = ctx.clock()
    if starts <= now:
        raise Invalid({"starts_at_local": "is in the past"})
    closed = closed_days(location, [new_local.year])(new_local.date())
    duration = session.ends_at - session.starts_at
    slot = Slot(session.number, starts, starts + duration)
    problems = hours_problems(location, [slot]) + find_conflicts(
        db,
        location,
        therapist_id=session.therapist_id,
        room=session.room,
        slots=[slot],
        exclude_session_ids=[session.id],
    )
    if closed:
        problems.insert(
            0,
            {
                "number": session.number,
                "starts_at": starts.isoformat(),
                "reason": "closed",
                "message": closed,
            },
        )
    if problems:
        raise Conflict(problems)
    before = session.starts_at
    session.local_date = new_local.date()
    session.local_time = new_local.time().replace(second=0, microsecond=0)
    session.starts_at = starts.astimezone(before.tzinfo)
    session.ends_at = slot.ends_at
    session.confirmed_at = None  # a confirmation was for the old time
    _touch(session)
    series = session.series
    changed = _renumber(series)
    audit.record(
        db,
        actor=actor,
        action="session.rescheduled",
        entity="session",
        entity_id=session.id,
        series_id=series.id,
        before=before.isoformat(),
        after=session.starts_at.isoformat(),
    )
    _emit(db, ctx, "rescheduled", series, [session, *changed], actor)
    return session


def cancel(
    db: Session,
    ctx: ServiceContext,
    session_id: int,
    *,
    cancelled_by: CancelledBy,
    make_up: bool | None = None,
    reason: str | None = None,
    actor: str,
) -> TherapySession:
    """Cancel one session. A practice cancellation gets a make-up week unless make_up=False;
    a client's counts against the contract unless make_up=True (a clinical decision)."""
    session = get_session(db, session_id, lock=True)
    if session.status != "scheduled":
        raise Invalid(
            {"status": f"only a scheduled session can be cancelled (this one is {session.status})"}
        )
    if session.starts_at <= ctx.clock():
        raise Invalid({"status": "the session has already started; mark it attended or no_show"})
    wants_make_up = make_up if make_up is not None else cancelled_by == "practice"
    session.status = "cancelled"
    session.cancelled_by = cancelled_by
    session.cancel_reason = reason
    session.counts = not wants_make_up
    _touch(session)
    series = session.series
    added: list[TherapySession] = []
    if wants_make_up:
        _lock_therapist(db, series.therapist_id)
        added = [_append_week(db, ctx, series, is_make_up=True)]
    changed = _renumber(series)
    audit.record(
        db,
        actor=actor,
        action="session.cancelled",
        entity="session",
        entity_id=session.id,
        series_id=series.id,
        cancelled_by=cancelled_by,
        make_up=wants_make_up,
        reason=reason,
        make_up_session=added[0].starts_at.isoformat() if added else None,
    )
    _emit(db, ctx, "cancelled", series, [session, *added, *changed], actor)
    return session


def mark(
    db: Session,
    ctx: ServiceContext,
    session_id: int,
    status: Literal["attended", "no_show"],
    *,
    actor: str,
) -> TherapySession:
    session = get_session(db, session_id, lock=True)
    if session.status == "cancelled":
        raise Invalid({"status": "a cancelled session cannot be marked"})
    if session.starts_at > ctx.clock():
        raise Invalid({"status": f"cannot mark {status} before the session has started"})
    before = session.status
    session.status = status
    _touch(session)
    audit.record(
        db,
        actor=actor,
        action=f"session.{status}",
        entity="session",
        entity_id=session.id,
        series_id=session.series_id,
        before=before,
    )
    _emit(db, ctx, "status", session.series, [session], actor)
    return session


def set_weekly_goal(
    db: Session, session_id: int, goal: str | None, *, actor: str
) -> TherapySession:
    session = get_session(db, session_id, lock=True)
    session.weekly_goal = goal
    audit.record(
        db,
        actor=actor,
        action="session.weekly_goal",
        entity="session",
        entity_id=session.id,
        series_id=session.series_id,
    )
    return session


def cancel_rest(
    db: Session,
    ctx: ServiceContext,
    series_id: int,
    *,
    cancelled_by: CancelledBy,
    reason: str | None,
    actor: str,
) -> Series:
    """End a series early: every future scheduled session is cancelled."""
    series = _get_series(db, series_id)
    now = ctx.clock()
    cancelled = []
    for s in series.sessions:
        if s.status == "scheduled" and s.starts_at > now:
            s.status, s.cancelled_by, s.cancel_reason = "cancelled", cancelled_by, reason
            s.counts = False
            _touch(s)
            cancelled.append(s)
    series.status = "ended"
    audit.record(
        db,
        actor=actor,
        action="series.cancelled",
        entity="series",
        entity_id=series.id,
        series_id=series.id,
        cancelled=len(cancelled),
        cancelled_by=cancelled_by,
        reason=reason,
    )
    _emit(db, ctx, "series_cancelled", series, cancelled, actor)
    return series


def renegotiate(
    db: Session, ctx: ServiceContext, series_id: int, session_count: int, *, actor: str
) -> Series:
    """Change N, the treatment contract: add weeks at the end, or cancel the last ones."""
    series = _get_series(db, series_id)
    lo, hi = session_count_range(ctx, series.kind)
    if not lo <= session_count <= hi:
        raise Invalid({"session_count": f"must be between {lo} and {hi}"})
    if series.status != "active":
        raise Invalid({"session_count": "the series has ended"})
    now = ctx.clock()
    counting = [s for s in series.sessions if s.counts]
    fixed = [s for s in counting if s.status != "scheduled" or s.starts_at <= now]
    if session_count < len(fixed):
        raise Invalid(
            {"session_count": f"{len(fixed)} sessions have already taken place or started"}
        )
    before = series.session_count
    series.session_count = session_count
    touched: list[TherapySession] = []
    if session_count > len(counting):
        _lock_therapist(db, series.therapist_id)
        touched = [
            _append_week(db, ctx, series, is_make_up=False)
            for _ in range(session_count - len(counting))
        ]
    else:
        surplus = sorted(
            (s for s in counting if s not in fixed), key=lambda s: s.starts_at, reverse=True
        )[: len(counting) - session_count]
        for s in surplus:
            s.status, s.cancelled_by, s.counts = "cancelled", "practice", False
            s.cancel_reason = f"series shortened to {session_count} sessions"
            touched.append(s)
    _renumber(series)
    # "IPT k/N" and the phases change for every session, so every one is a new revision.
    for s in series.sessions:
        _touch(s)
    audit.record(
        db,
        actor=actor,
        action="series.renegotiated",
        entity="series",
        entity_id=series.id,
        series_id=series.id,
        before=before,
        after=session_count,
    )
    _emit(db, ctx, "renegotiated", series, list(series.sessions), actor)
    return series


def _get_series(db: Session, series_id: int) -> Series:
    series = (
        db.execute(select(Series).where(Series.id == series_id).with_for_update(of=Series))
        .unique()
        .scalar_one_or_none()
    )
    if series is None:
        raise NotFound("series", series_id)
    return series


def _renumber(series: Series) -> list[TherapySession]:
    """Give counting sessions the numbers 1..N in time order; return those that changed."""
    changed = []
    counting = sorted((s for s in series.sessions if s.counts), key=lambda s: s.starts_at)
    for number, s in enumerate(counting, start=1):
        if s.number != number:
            s.number = number
            _touch(s)
            changed.append(s)
    return changed


def _append_week(
    db: Session, ctx: ServiceContext, series: Series, *, is_make_up: bool
) -> TherapySession:
    """Add one session in the first free week, one cadence after the last active session.

    At cadence 1 that is the next week; a maintenance series every 4 weeks looks 4 weeks on
    first, then at the weeks after that if the slot is closed or taken.
    """
    location = _location(ctx, series.office_id)
    active = [s for s in series.sessions if s.status != "cancelled"]
    last = (
        max(active, key=lambda s: s.starts_at).local_date if active else series.first_session_date
    )
    weekday = series.first_session_date.weekday()
    # Calendar days on the local date, never hours on an instant (DST). The series' weekday
    # one cadence after the last session (which may have been moved to another weekday).
    ahead = (weekday - last.weekday()) % 7 or 7
    day = last + timedelta(days=ahead + 7 * (series.cadence_weeks - 1))
    duration = timedelta(minutes=series.duration_minutes)
    closed = closed_days(location, range(day.year, day.year + 2))
    problems: list[dict[str, object]] = []
    for week in range(MAKE_UP_SEARCH_WEEKS):
        candidate = day + timedelta(weeks=week)
        try:
            planned = plan_series(
                first_date=candidate,
                start_time=series.start_time,
                zone=location.timezone,
                session_count=1,
                duration=duration,
                closed=closed,
                first_number=len(active) + 1,
                total=series.session_count,
                phase=phases_of(series.kind),
            ).sessions[0]
        except LocalTimeError as exc:
            problems.append(
                {"date": candidate.isoformat(), "reason": "local_time", "message": str(exc)}
            )
            continue
        slot = Slot(planned.number, planned.starts_at, planned.ends_at)
        found = hours_problems(location, [slot]) + find_conflicts(
            db, location, therapist_id=series.therapist_id, room=series.room, slots=[slot]
        )
        if not found:
            session = session_from_plan(series, planned, series.room)
            session.is_make_up = is_make_up
            db.add(session)
            db.flush()
            return session
        problems.extend(found)
    raise Conflict(problems, message="no free week found for a make-up session")
