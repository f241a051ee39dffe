"""What every change to sessions shares: loading with a lock, the office, revisions, notices."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Series, Therapist, TherapySession
from ..db.types import utcnow
from ..locations import Location
from .context import ChangeKind, ScheduleChange, ServiceContext
from .errors import Invalid, NotFound


def get_session(db: Session, session_id: int, *, lock: bool = False) -> TherapySession:
    query = select(TherapySession).where(TherapySession.id == session_id)
    if lock:
        query = query.with_for_update(of=TherapySession)
    found = db.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound("session", session_id)
    return found


def office_of(ctx: ServiceContext, office_id: str) -> Location:
    location = ctx.locations.get(office_id)
    if location is None:  # the office left locations.yaml; its sessions are read-only now
        raise Invalid({"location_id": f"office {office_id} is no longer configured"})
    return location


def lock_therapists(db: Session, *therapist_ids: int) -> None:
    """Serialise bookings per therapist; several are locked in id order (no deadlock cycle)."""
    for therapist_id in sorted(set(therapist_ids)):
        db.execute(select(Therapist.id).where(Therapist.id == therapist_id).with_for_update())


def touch(session: TherapySession) -> None:
    """A change a subscriber could see: feeds use the revision as SEQUENCE."""
    session.revision += 1
    session.updated_at = utcnow()


def emit(
    db: Session,
    ctx: ServiceContext,
    kind: ChangeKind,
    series: Series,
    sessions: list[TherapySession],
    actor: str,
    *,
    previous: Mapping[int, datetime] | None = None,
) -> None:
    change = ScheduleChange(kind, series, sessions, actor, ctx.clock(), dict(previous or {}))
    ctx.notify(db, change)


def renumber(series: Series) -> list[TherapySession]:
    """Give counting sessions the numbers 1..N in time order; return those that changed."""
    changed = []
    counting = sorted((s for s in series.sessions if s.counts), key=lambda s: s.starts_at)
    for number, s in enumerate(counting, start=1):
        if s.number != number:
            s.number = number
            touch(s)
            changed.append(s)
    return changed
