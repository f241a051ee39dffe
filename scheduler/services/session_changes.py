"""Changing single sessions and whole series: cancel, the weekly goal, cancel the rest, change N.

Moving a session lives in `session_moves`, attendance in `attendance`; `reschedule` and `mark`
are re-exported here for the callers that know them by this module.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Series, TherapySession
from ..domain.series import LocalTimeError, plan_series
from . import audit
from .attendance import is_late, mark
from .availability import Slot, closed_days, find_conflicts, hours_problems
from .booking import phases_of, session_count_range, session_from_plan
from .context import ServiceContext
from .errors import Conflict, Invalid, NotFound
from .session_common import emit, get_session, lock_therapists, office_of, renumber, touch
from .session_moves import reschedule

__all__ = [
    "CancelledBy",
    "cancel",
    "cancel_rest",
    "get_session",
    "mark",
    "renegotiate",
    "reschedule",
    "set_weekly_goal",
]

CancelledBy = Literal["client", "practice"]
# How far past the last session a make-up week may be looked for before giving up.
MAKE_UP_SEARCH_WEEKS = 8


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
    now = ctx.clock()
    if session.starts_at <= now:
        raise Invalid(
            {
                "status": "the session has already started; mark it attended, no_show or "
                "late_cancelled"
            }
        )
    wants_make_up = make_up if make_up is not None else cancelled_by == "practice"
    late = cancelled_by == "client" and is_late(
        office_of(ctx, session.office_id), session.starts_at, now
    )
    session.status = "cancelled"
    session.cancelled_by = cancelled_by
    session.cancel_reason = reason
    session.counts = not wants_make_up
    session.late_cancel = late
    if late and not wants_make_up:
        # A late cancel is attendance as much as a cancellation: undoable the same day.
        session.marked_at, session.marked_by = now, actor
    touch(session)
    series = session.series
    added: list[TherapySession] = []
    if wants_make_up:
        lock_therapists(db, series.therapist_id)
        added = [_append_week(db, ctx, series, is_make_up=True)]
    changed = renumber(series)
    audit.record(
        db,
        actor=actor,
        action="session.cancelled",
        entity="session",
        entity_id=session.id,
        series_id=series.id,
        cancelled_by=cancelled_by,
        late=late,
        make_up=wants_make_up,
        reason=reason,
        make_up_session=added[0].starts_at.isoformat() if added else None,
    )
    emit(db, ctx, "cancelled", series, [session, *added, *changed], actor)
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
            touch(s)
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
    emit(db, ctx, "series_cancelled", series, cancelled, actor)
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
        lock_therapists(db, series.therapist_id)
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
    renumber(series)
    # "IPT k/N" and the phases change for every session, so every one is a new revision.
    for s in series.sessions:
        touch(s)
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
    emit(db, ctx, "renegotiated", series, list(series.sessions), actor)
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


def _append_week(
    db: Session, ctx: ServiceContext, series: Series, *, is_make_up: bool
) -> TherapySession:
    """Add one session in the first free week, one cadence after the last active session.

    At cadence 1 that is the next week; a maintenance series every 4 weeks looks 4 weeks on
    first, then at the weeks after that if the slot is closed or taken.
    """
    location = office_of(ctx, series.office_id)
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
            db,
            location,
            therapist_id=series.therapist_id,
            room=series.room,
            client_id=series.client_id,
            slots=[slot],
        )
        if not found:
            session = session_from_plan(series, planned, series.room)
            session.is_make_up = is_make_up
            db.add(session)
            db.flush()
            return session
        problems.extend(found)
    raise Conflict(problems, message="no free week found for a make-up session")
