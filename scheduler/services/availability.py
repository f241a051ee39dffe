"""Checking planned meetings against the calendar: other sessions, rooms, hours, closures.

The sessions that could stand in the way are read with one query for the whole window
(`busy_calendar`), then every candidate meeting is checked in memory. Booking a series costs
the same number of statements for 8 sessions as for 20, and the slot finder checks hundreds
of candidate series against the same one read.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, select, union
from sqlalchemy.orm import Session

from ..db.models import Client, Office, Series, Therapist, TherapySession
from ..domain.calendar import closed_checker
from ..locations import Location
from .conflicts import (
    Busy,
    Conflicts,
    closed_blocker,
    closed_message,
    hours_blocker,
    initials,
    session_blocker,
    session_message,
)


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


def outside_hours(location: Location, slot: Slot) -> bool:
    start = slot.starts_at.astimezone(location.tz)
    end = slot.ends_at.astimezone(location.tz)
    return start.date() != end.date() or not location.is_open(
        start.date(), start.time(), end.time()
    )


def hours_problems(location: Location, slots: Sequence[Slot]) -> Conflicts:
    """Meetings that fall outside the office's opening hours (local wall time)."""
    problems = []
    for slot in slots:
        if outside_hours(location, slot):
            day = slot.starts_at.astimezone(location.tz).date()
            problems.append(
                _describe(slot, location, "outside_hours", f"{location.name} is not open then")
                | {"blocked_by": hours_blocker(location, day)}
            )
    return problems


def closed_problem(location: Location, number: int, starts_at: datetime, reason: str) -> dict:
    """The office is shut on the day of `starts_at` (its own closure, or a holiday)."""
    day = starts_at.astimezone(location.tz).date()
    blocker = closed_blocker(location, day, reason)
    return {
        "number": number,
        "date": day.isoformat(),
        "starts_at": starts_at.astimezone(location.tz).isoformat(),
        "location_id": location.id,
        "reason": "closed",
        "message": closed_message(blocker),
        "blocked_by": blocker,
    }


class BusyCalendar:
    """Active sessions in a window, indexed by therapist, by office room and by client."""

    def __init__(self, rows: Iterable[Busy]) -> None:
        self._by: dict[tuple[str, Any], list[Busy]] = defaultdict(list)
        for row in rows:
            self._by[("therapist", row.therapist_id)].append(row)
            if row.room:
                self._by[("room", (row.office_id, row.room))].append(row)
            self._by[("client", row.client_id)].append(row)
        self._starts: dict[tuple[str, Any], list[datetime]] = {}
        self._longest: dict[tuple[str, Any], timedelta] = {}
        for key, found in self._by.items():
            found.sort(key=lambda b: (b.starts_at, b.session_id))
            self._starts[key] = [b.starts_at for b in found]
            self._longest[key] = max(b.ends_at - b.starts_at for b in found)

    def overlapping(
        self, key: tuple[str, Any], start: datetime, end: datetime, exclude: Collection[int] = ()
    ) -> list[Busy]:
        found = self._by.get(key)
        if not found:
            return []
        starts = self._starts[key]
        # Anything overlapping [start, end) began after start - longest and before end.
        lo = bisect.bisect_right(starts, start - self._longest[key])
        hi = bisect.bisect_left(starts, end)
        return [
            b
            for b in found[lo:hi]
            if b.starts_at < end and b.ends_at > start and b.session_id not in exclude
        ]

    def conflicts(
        self,
        location: Location,
        slots: Sequence[Slot],
        *,
        therapist_id: int,
        room: str | None,
        client_id: int | None = None,
        exclude: Collection[int] = (),
    ) -> Conflicts:
        """Each slot's clash with the therapist's, the room's or the client's other sessions."""
        found: Conflicts = []
        for slot in slots:
            seen: set[int] = set()
            checks: list[tuple[str, tuple[str, Any]]] = [
                ("therapist_busy", ("therapist", therapist_id))
            ]
            if room:
                checks.append(("room_busy", ("room", (location.id, room))))
            if client_id is not None:
                checks.append(("client_busy", ("client", client_id)))
            for reason, key in checks:
                for other in self.overlapping(key, slot.starts_at, slot.ends_at, exclude):
                    if other.session_id in seen:
                        continue  # one clash per other session: the therapist's, if it is theirs
                    seen.add(other.session_id)
                    blocker = session_blocker(other)
                    found.append(
                        _describe(
                            slot, location, reason, session_message(reason, blocker, location.id)
                        )
                        | {"conflicting_session_id": other.session_id, "blocked_by": blocker}
                    )
        return found

    def is_free(
        self,
        slots: Sequence[Slot],
        *,
        therapist_id: int,
        office_id: str,
        room: str | None,
        client_id: int | None = None,
    ) -> bool:
        """No clash at all (the slot finder's fast path: nothing is described)."""
        keys: list[tuple[str, Any]] = [("therapist", therapist_id)]
        if room:
            keys.append(("room", (office_id, room)))
        if client_id is not None:
            keys.append(("client", client_id))
        return not any(
            self.overlapping(key, slot.starts_at, slot.ends_at) for slot in slots for key in keys
        )


# Booking's upper bound on a session's length (duration_minutes 15-240).
LONGEST_SESSION = timedelta(minutes=240)


def busy_calendar(
    db: Session,
    *,
    office_id: str,
    therapist_ids: Collection[int],
    rooms: Collection[str] = (),
    client_id: int | None = None,
    start: datetime,
    end: datetime,
    exclude_session_ids: Iterable[int] = (),
) -> BusyCalendar:
    """One query: the active sessions between `start` and `end` of these therapists (at any
    office), in these rooms of `office_id`, or of this client."""
    s = TherapySession
    # Implied by `ends_at > start` (no session is longer), but it bounds each index range.
    window = (s.starts_at < end, s.starts_at > start - LONGEST_SESSION, s.ends_at > start)
    # Each kind of neighbour is found through its own index (the therapist's, the office's,
    # the client's series), and only then are the sessions read. One OR across the series
    # join could use none of them: it read every session of the practice in the window, so a
    # 16-week booking cost as much as the practice is big.
    who: list[Select[tuple[int]]] = []
    if therapist_ids:
        who.append(select(s.id).where(s.therapist_id.in_(list(therapist_ids)), *window))
    if rooms:
        who.append(select(s.id).where(s.office_id == office_id, s.room.in_(list(rooms)), *window))
    if client_id is not None:
        theirs = select(Series.id).where(Series.client_id == client_id)
        who.append(select(s.id).where(s.series_id.in_(theirs.scalar_subquery()), *window))
    query = (
        select(
            s.id,
            s.series_id,
            s.therapist_id,
            Therapist.name,
            s.office_id,
            Office.name.label("office_name"),
            s.room,
            s.timezone,
            s.starts_at,
            s.ends_at,
            Series.client_id,
            Client.first_name,
            Client.last_name,
        )
        .join(Series, Series.id == s.series_id)
        .join(Client, Client.id == Series.client_id)
        .join(Therapist, Therapist.id == s.therapist_id)
        .join(Office, Office.id == s.office_id)
        .where(s.id.in_(union(*who)) if who else false(), s.status != "cancelled")
    )
    excluded = list(exclude_session_ids)
    if excluded:
        query = query.where(s.id.not_in(excluded))
    return BusyCalendar(
        Busy(
            session_id=r.id,
            series_id=r.series_id,
            therapist_id=r.therapist_id,
            therapist_name=r.name,
            office_id=r.office_id,
            office_name=r.office_name,
            room=r.room,
            timezone=r.timezone,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            client_id=r.client_id,
            client_initials=initials(r.first_name, r.last_name),
        )
        for r in db.execute(query)
    )


def find_conflicts(
    db: Session,
    location: Location,
    *,
    therapist_id: int,
    room: str | None,
    slots: Sequence[Slot],
    client_id: int | None = None,
    exclude_session_ids: Iterable[int] = (),
) -> Conflicts:
    """Each slot that overlaps another active session of the therapist (any office), the room,
    or the client (any office, any therapist: a client is never in two places at once)."""
    if not slots:
        return []
    excluded = list(exclude_session_ids)
    calendar = busy_calendar(
        db,
        office_id=location.id,
        therapist_ids=[therapist_id],
        rooms=[room] if room else [],
        client_id=client_id,
        start=min(s.starts_at for s in slots),
        end=max(s.ends_at for s in slots),
        exclude_session_ids=excluded,
    )
    return calendar.conflicts(
        location, slots, therapist_id=therapist_id, room=room, client_id=client_id
    )


def _describe(slot: Slot, location: Location, reason: str, message: str) -> dict[str, Any]:
    local = slot.starts_at.astimezone(location.tz)
    return {
        "number": slot.number,
        "starts_at": local.isoformat(),
        "location_id": location.id,
        "reason": reason,
        "message": message,
    }
