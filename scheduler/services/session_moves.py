"""Moving one session: a new date and time, another room or another therapist, previewed first.

`preview_move` answers every conflict the change would meet without writing anything (the
reschedule page asks it as staff type); `move_session` runs the same checks under the locks
and saves, or raises Conflict with that same list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Therapist, TherapySession, therapist_offices
from ..domain.series import LocalTimeError, resolve_local
from ..locations import Location
from . import audit
from .availability import Slot, busy_calendar, closed_days, closed_problem, hours_problems
from .context import ServiceContext
from .errors import Conflict, Invalid, NotFound
from .session_common import emit, get_session, lock_therapists, office_of, renumber, touch

# "Leave the room as it is" (None means "no particular room").
KEEP = "__keep__"


@dataclass(frozen=True)
class MoveRequest:
    """What changes: a new local wall time, a room (None: none in particular), a therapist."""

    starts_at_local: datetime | None = None
    room: str | None = KEEP
    therapist_id: int | None = None

    @property
    def changes_room(self) -> bool:
        return self.room != KEEP


@dataclass(frozen=True)
class MovePreview:
    """The session as it would be after the change, and everything in the way."""

    session_id: int
    location: Location
    starts_at: datetime
    ends_at: datetime
    room: str | None
    therapist_id: int
    conflicts: list[dict[str, Any]]
    moves_time: bool

    @property
    def ok(self) -> bool:
        return not self.conflicts

    def as_json(self) -> dict[str, Any]:
        tz = self.location.tz
        local = self.starts_at.astimezone(tz)
        return {
            "session_id": self.session_id,
            "ok": self.ok,
            "starts_at": local.isoformat(),
            "ends_at": self.ends_at.astimezone(tz).isoformat(),
            "local_date": local.date().isoformat(),
            "local_time": f"{local:%H:%M}",
            "timezone": self.location.timezone,
            "location_id": self.location.id,
            "room": self.room,
            "therapist_id": self.therapist_id,
            "conflicts": self.conflicts,
        }


def _check_therapist(db: Session, therapist_id: int, location: Location) -> None:
    works_here = (
        select(therapist_offices.c.office_id)
        .where(
            therapist_offices.c.therapist_id == Therapist.id,
            therapist_offices.c.office_id == location.id,
        )
        .exists()
    )
    found = db.execute(
        select(Therapist.name, Therapist.active, works_here.label("works_here")).where(
            Therapist.id == therapist_id
        )
    ).one_or_none()
    if found is None:
        raise NotFound("therapist", therapist_id, field="therapist_id")
    if not found.active:
        raise Invalid({"therapist_id": f"{found.name} is no longer active"})
    if not found.works_here:
        raise Invalid({"therapist_id": f"{found.name} does not work at {location.name}"})


def _plan(
    db: Session, ctx: ServiceContext, session: TherapySession, change: MoveRequest
) -> MovePreview:
    location = office_of(ctx, session.office_id)
    if session.status != "scheduled":
        raise Invalid(
            {"status": f"only a scheduled session can be moved (this one is {session.status})"}
        )
    if change.starts_at_local is None and not change.changes_room and change.therapist_id is None:
        raise Invalid({"body": "give starts_at_local, room or therapist_id"})
    starts = session.starts_at
    if change.starts_at_local is not None:
        when = change.starts_at_local
        if when.tzinfo is not None:
            raise Invalid(
                {"starts_at_local": "must be a local time without offset, like 2027-03-03T18:00"}
            )
        try:
            starts = resolve_local(
                when.date(), when.time().replace(second=0, microsecond=0), location.timezone
            )
        except LocalTimeError as exc:
            raise Invalid({"starts_at_local": str(exc)}) from None
        if starts <= ctx.clock():
            raise Invalid({"starts_at_local": "is in the past"})
    elif session.starts_at <= ctx.clock():
        raise Invalid({"status": "the session has already started"})
    room = change.room if change.changes_room else session.room
    if change.changes_room and room is not None and room not in location.rooms:
        raise Invalid({"room": f"{location.name} has no room {room!r}"})
    therapist_id = change.therapist_id or session.therapist_id
    if therapist_id != session.therapist_id:
        _check_therapist(db, therapist_id, location)
    duration = session.ends_at - session.starts_at
    slot = Slot(session.number, starts, starts + duration)
    conflicts = hours_problems(location, [slot])
    day = starts.astimezone(location.tz).date()
    closed = closed_days(location, [day.year])(day)
    if closed:
        conflicts.insert(0, closed_problem(location, session.number, starts, closed))
    calendar = busy_calendar(
        db,
        office_id=location.id,
        therapist_ids=[therapist_id],
        rooms=[room] if room else [],
        client_id=session.series.client_id,
        start=slot.starts_at,
        end=slot.ends_at,
        exclude_session_ids=[session.id],
    )
    conflicts += calendar.conflicts(
        location, [slot], therapist_id=therapist_id, room=room, client_id=session.series.client_id
    )
    return MovePreview(
        session_id=session.id,
        location=location,
        starts_at=starts,
        ends_at=slot.ends_at,
        room=room,
        therapist_id=therapist_id,
        conflicts=conflicts,
        moves_time=starts != session.starts_at,
    )


def preview_move(
    db: Session, ctx: ServiceContext, session_id: int, change: MoveRequest
) -> MovePreview:
    """Every conflict the change would meet, before saving; nothing is written.

    Raises Invalid for a change that could never be saved (a time that does not exist or has
    passed, an unknown room, a therapist from elsewhere); conflicts are returned, not raised.
    """
    return _plan(db, ctx, get_session(db, session_id), change)


def move_session(
    db: Session, ctx: ServiceContext, session_id: int, change: MoveRequest, *, actor: str
) -> TherapySession:
    """Save the change, or raise Conflict listing what `preview_move` would have shown."""
    session = get_session(db, session_id, lock=True)
    lock_therapists(db, session.therapist_id, change.therapist_id or session.therapist_id)
    plan = _plan(db, ctx, session, change)
    if plan.conflicts:
        raise Conflict(plan.conflicts)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    previous = {session.id: session.starts_at}
    if plan.moves_time:
        before["starts_at"], after["starts_at"] = session.starts_at.isoformat(), plan.starts_at
        local = plan.starts_at.astimezone(plan.location.tz)
        session.local_date = local.date()
        session.local_time = local.time().replace(tzinfo=None)
        session.starts_at = plan.starts_at.astimezone(session.starts_at.tzinfo)
        session.ends_at = plan.ends_at.astimezone(session.starts_at.tzinfo)
        session.confirmed_at = None  # a confirmation was for the old time
        after["starts_at"] = session.starts_at.isoformat()
    if plan.room != session.room:
        before["room"], after["room"] = session.room, plan.room
        session.room = plan.room
    if plan.therapist_id != session.therapist_id:
        before["therapist_id"], after["therapist_id"] = session.therapist_id, plan.therapist_id
        session.therapist_id = plan.therapist_id
    if not after:
        return session  # nothing changed: no revision, no notice
    touch(session)
    series = session.series
    changed = renumber(series) if plan.moves_time else []
    if plan.moves_time:
        audit.record(
            db,
            actor=actor,
            action="session.rescheduled",
            entity="session",
            entity_id=session.id,
            series_id=series.id,
            before=before.get("starts_at"),
            after=after.get("starts_at"),
            **{k: [before[k], after[k]] for k in ("room", "therapist_id") if k in after},
        )
    else:
        audit.record(
            db,
            actor=actor,
            action="session.reassigned",
            entity="session",
            entity_id=session.id,
            series_id=series.id,
            **{k: [before[k], after[k]] for k in after},
        )
    emit(
        db, ctx, "rescheduled" if plan.moves_time else "reassigned", series,
        [session, *changed], actor, previous=previous,
    )  # fmt: skip
    return session


def reschedule(
    db: Session, ctx: ServiceContext, session_id: int, new_local: datetime, *, actor: str
) -> TherapySession:
    """Move one session to a new local date and time at the same office."""
    return move_session(db, ctx, session_id, MoveRequest(starts_at_local=new_local), actor=actor)
