"""Checking planned meetings against the calendar: other sessions, rooms, hours, closures.

All candidate meetings are checked with one query, whatever their number, so booking a series
costs the same number of statements for 8 sessions as for 20.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..db.models import TherapySession
from ..domain.calendar import closed_checker
from ..locations import Location


@dataclass(frozen=True)
class Slot:
    """A meeting being considered: its number within the series and its UTC interval."""

    number: int
    starts_at: datetime
    ends_at: datetime


def closed_days(location: Location, years: Iterable[int]) -> Callable[[date], str | None]:
    """The office's closures plus the federal and state holidays of its state."""
    closures = {c.date: c.reason for c in location.closures}
    return closed_checker(location.state, closures, tuple(sorted(set(years))))


def years_spanned(first: date, weeks: int) -> range:
    last = first + timedelta(weeks=weeks + 30)
    return range(first.year, last.year + 1)


def hours_problems(location: Location, slots: Sequence[Slot]) -> list[dict[str, Any]]:
    """Meetings that fall outside the office's opening hours (local wall time)."""
    problems = []
    for slot in slots:
        start = slot.starts_at.astimezone(location.tz)
        end = slot.ends_at.astimezone(location.tz)
        if start.date() != end.date() or not location.is_open(
            start.date(), start.time(), end.time()
        ):
            problems.append(
                _describe(slot, location, "outside_hours", f"{location.name} is not open then")
            )
    return problems


def find_conflicts(
    db: Session,
    location: Location,
    *,
    therapist_id: int,
    room: str | None,
    slots: Sequence[Slot],
    exclude_session_ids: Iterable[int] = (),
) -> list[dict[str, Any]]:
    """Each slot that overlaps another active session of the therapist (any office) or the room."""
    if not slots:
        return []
    lo = min(s.starts_at for s in slots)
    hi = max(s.ends_at for s in slots)
    who = TherapySession.therapist_id == therapist_id
    if room:
        who = or_(who, and_(TherapySession.office_id == location.id, TherapySession.room == room))
    excluded = list(exclude_session_ids)
    query = select(
        TherapySession.id,
        TherapySession.therapist_id,
        TherapySession.office_id,
        TherapySession.room,
        TherapySession.starts_at,
        TherapySession.ends_at,
    ).where(
        who,
        TherapySession.status != "cancelled",
        TherapySession.starts_at < hi,
        TherapySession.ends_at > lo,
    )
    if excluded:
        query = query.where(TherapySession.id.not_in(excluded))
    busy = db.execute(query).all()
    conflicts = []
    for slot in slots:
        for other in busy:
            if not (other.starts_at < slot.ends_at and other.ends_at > slot.starts_at):
                continue
            if other.therapist_id == therapist_id:
                reason, text = "therapist_busy", "the therapist has another session then"
                if other.office_id != location.id:
                    text += f" (at {other.office_id})"
            else:
                reason, text = "room_busy", f"{room} is booked then"
            conflicts.append(
                _describe(slot, location, reason, text) | {"conflicting_session_id": other.id}
            )
    return conflicts


def _describe(slot: Slot, location: Location, reason: str, message: str) -> dict[str, Any]:
    local = slot.starts_at.astimezone(location.tz)
    return {
        "number": slot.number,
        "starts_at": local.isoformat(),
        "reason": reason,
        "message": message,
    }
