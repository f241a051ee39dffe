"""Weekly slots free in all N weeks, offered when the slot asked for is taken.

Order: the therapist asked for first, then the office's other therapists; within each, the
weekday asked for first, then the days next to it; within a day, the times nearest the one
asked for; a start one or two weeks later only where the earlier start is not free; the room
asked for before other rooms. Every suggestion passes the checks `booking.book_series` makes
(opening hours, closures and holidays under the request's closure policy, the therapist's,
the room's and the client's other sessions), so it can be booked as it stands.

Cost: the candidate series are planned in memory; the sessions that could stand in the way
are read with one query for the whole window, and the therapists with one more.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Client, Therapist, therapist_offices
from ..domain.series import ClosureRejected, LocalTimeError, plan_series
from ..formats import format_date, format_time
from ..locations import Location
from .availability import BusyCalendar, Slot, busy_calendar, closed_days, outside_hours
from .booking import SeriesRequest, location_for, validate, years_spanned
from .context import ServiceContext
from .errors import NotFound

MAX_SUGGESTIONS = 5
STEP_MINUTES = 30  # start times offered on the hour and half hour
DAY_OFFSETS = (0, 1, -1, 2, -2, 3, -3)  # the weekday asked for, then its neighbours
WEEK_SHIFTS = (0, 1, 2)  # starting a week or two later keeps the weekday and time
# Weeks of calendar read beyond N: room for closures pushing make-up weeks to the end.
SPARE_WEEKS = 8


@dataclass(frozen=True)
class Suggestion:
    therapist_id: int
    therapist_name: str
    location_id: str
    first_session_date: date
    start_time: time
    room: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "therapist_id": self.therapist_id,
            "therapist_name": self.therapist_name,
            "location_id": self.location_id,
            "first_session_date": self.first_session_date.isoformat(),
            "start_time": f"{self.start_time:%H:%M}",
            "room": self.room,
            "label": self.label,
        }

    @property
    def label(self) -> str:
        """'Wednesdays at 5:00 PM from Wed, Feb 24, 2027, with Dr. Byrne (Room 2)'."""
        weekday = f"{self.first_session_date:%A}s"
        room = f" ({self.room})" if self.room else ""
        return (
            f"{weekday} at {format_time(self.start_time)} from "
            f"{format_date(self.first_session_date)}, with {self.therapist_name}{room}"
        )


@dataclass(frozen=True)
class _Pattern:
    """One weekly pattern to try and where it sits relative to the request (its sort key)."""

    day_distance: int
    minutes_away: int
    week_shift: int
    first_date: date
    start_time: time


class _Planner:
    """Plans patterns on first use: most requests are answered by the first few."""

    def __init__(self, ctx: ServiceContext, req: SeriesRequest, location: Location) -> None:
        self.req, self.location, self.now = req, location, ctx.clock()
        self.duration = timedelta(minutes=req.duration_minutes)
        self.closed = closed_days(
            location, years_spanned(req.first_session_date, req.session_count + 3)
        )
        self._plans: dict[tuple[date, time], list[Slot] | None] = {}

    def slots(self, pattern: _Pattern) -> list[Slot] | None:
        """The pattern's N meetings, or None if the calendar rules it out as a whole."""
        key = (pattern.first_date, pattern.start_time)
        if key not in self._plans:
            self._plans[key] = self._plan(*key)
        return self._plans[key]

    def _plan(self, first: date, at: time) -> list[Slot] | None:
        try:
            plan = plan_series(
                first_date=first,
                start_time=at,
                zone=self.location.timezone,
                session_count=self.req.session_count,
                duration=self.duration,
                closed=self.closed,
                policy=self.req.closure_policy,
            )
        except (LocalTimeError, ClosureRejected):
            return None
        slots = [Slot(p.number, p.starts_at, p.ends_at) for p in plan.sessions]
        if slots[0].starts_at <= self.now or any(outside_hours(self.location, s) for s in slots):
            return None
        return slots


def _therapists(db: Session, location: Location, asked: int) -> list[tuple[int, str]]:
    """Active therapists of the office, the one asked for first, then by name."""
    rows = db.execute(
        select(Therapist.id, Therapist.name)
        .join(therapist_offices, therapist_offices.c.therapist_id == Therapist.id)
        .where(therapist_offices.c.office_id == location.id, Therapist.active.is_(True))
        .order_by(Therapist.name, Therapist.id)
    ).all()
    return sorted(((r.id, r.name) for r in rows), key=lambda t: t[0] != asked)


def _times(location: Location, day: date, asked: time, duration: timedelta) -> list[time]:
    """Start times on `day` at which a session of `duration` fits the opening hours."""
    found = set()
    for opens, closes in location.hours.get(day.weekday(), ()):
        start = datetime.combine(day, opens)
        last = datetime.combine(day, closes) - duration
        step = timedelta(minutes=STEP_MINUTES)
        # First grid point at or after opening (the grid is anchored at midnight).
        minutes = opens.hour * 60 + opens.minute
        at = start + timedelta(minutes=(-minutes) % STEP_MINUTES)
        while at <= last:
            found.add(at.time())
            at += step
        asked_at = datetime.combine(day, asked)
        if start <= asked_at <= last:
            found.add(asked)
    return sorted(found)


def _minutes_apart(a: time, b: time) -> int:
    return abs((a.hour * 60 + a.minute) - (b.hour * 60 + b.minute))


def _patterns(ctx: ServiceContext, req: SeriesRequest, location: Location) -> list[_Pattern]:
    """Every weekly pattern near the request within opening hours, best first (not planned)."""
    today = ctx.clock().astimezone(location.tz).date()
    duration = timedelta(minutes=req.duration_minutes)
    found = []
    for week_shift in WEEK_SHIFTS:
        for offset in DAY_OFFSETS:
            first = req.first_session_date + timedelta(days=offset, weeks=week_shift)
            if first < today:
                continue
            for at in _times(location, first, req.start_time, duration):
                away = _minutes_apart(at, req.start_time)
                found.append(_Pattern(abs(offset), away, week_shift, first, at))
    found.sort(key=lambda p: (p.day_distance, p.minutes_away, p.week_shift, p.first_date))
    return found


def suggest(
    db: Session, ctx: ServiceContext, req: SeriesRequest, *, limit: int = MAX_SUGGESTIONS
) -> list[Suggestion]:
    """Up to `limit` weekly slots free in all N weeks, each bookable as it stands.

    Raises NotFound/Invalid for a request that could never be booked (unknown office or
    client, a session count out of range, ...), exactly as booking would.
    """
    location = location_for(ctx, req.location_id)
    validate(ctx, req, location)
    if db.scalar(select(Client.id).where(Client.id == req.client_id)) is None:
        raise NotFound("client", req.client_id, field="client_id")
    therapists = _therapists(db, location, req.therapist_id)
    patterns = _patterns(ctx, req, location)
    if not therapists or not patterns:
        return []
    rooms: list[str | None] = [None]
    if req.room is not None:
        rooms = [req.room, *(r for r in location.rooms if r != req.room)]
    planner = _Planner(ctx, req, location)
    start = datetime.combine(min(p.first_date for p in patterns), time(0), location.tz)
    last = max(p.first_date for p in patterns)
    horizon = datetime.combine(
        last + timedelta(weeks=req.session_count + SPARE_WEEKS), time(0), location.tz
    )
    # The therapist asked for first: the others' calendars are read only if they are needed.
    asked = therapists[0][0] == req.therapist_id
    groups = [therapists[:1], therapists[1:]] if asked else [therapists]
    found: list[Suggestion] = []
    offered: set[tuple[int, int, time]] = set()
    for group in filter(None, groups):
        calendar = busy_calendar(
            db,
            office_id=location.id,
            therapist_ids=[t for t, _ in group],
            rooms=[r for r in rooms if r],
            client_id=req.client_id,
            start=start,
            end=horizon,
        )
        for therapist_id, name in group:
            for pattern in patterns:
                key = (therapist_id, pattern.first_date.weekday(), pattern.start_time)
                if key in offered:
                    continue  # the same weekly slot a week later is no new choice
                slots = planner.slots(pattern)
                if slots is None or slots[-1].ends_at > horizon:
                    continue  # beyond what was read: never offer what was not checked
                room = _free_room(calendar, slots, therapist_id, location, rooms, req)
                if room is False:
                    continue
                offered.add(key)
                found.append(
                    Suggestion(
                        therapist_id=therapist_id,
                        therapist_name=name,
                        location_id=location.id,
                        first_session_date=slots[0].starts_at.astimezone(location.tz).date(),
                        start_time=pattern.start_time,
                        room=room if isinstance(room, str) else None,
                    )
                )
                if len(found) >= limit:
                    return found
    return found


def _free_room(
    calendar: BusyCalendar,
    slots: list[Slot],
    therapist_id: int,
    location: Location,
    rooms: list[str | None],
    req: SeriesRequest,
) -> str | bool | None:
    """The first of `rooms` free with the therapist and client at all `slots`, else False."""
    for room in rooms:
        free = calendar.is_free(
            slots,
            therapist_id=therapist_id,
            office_id=location.id,
            room=room,
            client_id=req.client_id,
        )
        if free:
            return room
    return False


def as_request(req: SeriesRequest, suggestion: Suggestion) -> SeriesRequest:
    """The booking request that books `suggestion` (everything else as asked)."""
    return replace(
        req,
        therapist_id=suggestion.therapist_id,
        location_id=suggestion.location_id,
        first_session_date=suggestion.first_session_date,
        start_time=suggestion.start_time,
        room=suggestion.room,
    )
