"""Weekly expansion of an IPT series in wall-clock time.

A series is "same weekday, same local time, at the office" for N weeks. Weeks are counted on
the local calendar and each date is localised on its own with zoneinfo, so a 17:00 session
stays at 17:00 across a DST change (its UTC instant moves by an hour instead). Local times
that do not exist or occur twice are rejected with a clear error, never shifted silently.

Pure: stdlib and zoneinfo only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.domain.phases import CoursePhase, phase_for

ClosurePolicy = Literal["skip", "reject"]
LocalTimeKind = Literal["nonexistent", "ambiguous"]

_POLICIES: tuple[ClosurePolicy, ...] = ("skip", "reject")
# How many extra weeks a series may spill over when closures push make-up weeks to the end.
_DEFAULT_SPARE_WEEKS = 26


class LocalTimeError(ValueError):
    """A wall-clock time that does not exist, or exists twice, in a zone on a given day."""

    def __init__(self, kind: LocalTimeKind, local: datetime, zone: str) -> None:
        self.kind: LocalTimeKind = kind
        self.local = local
        self.zone = zone
        stamp = _format_local(local)
        if kind == "nonexistent":
            text = f"{stamp} does not exist in {zone} (clocks spring forward)"
        else:
            text = f"{stamp} occurs twice in {zone} (clocks fall back)"
        super().__init__(text)


@dataclass(frozen=True)
class Skip:
    """A week left out of a series, and why (closure or holiday)."""

    day: date
    reason: str


@dataclass(frozen=True)
class PlannedSession:
    """One session of a planned series: where it sits on the office's wall clock and in UTC."""

    number: int
    phase: CoursePhase
    local_date: date
    local_time: time
    zone: str
    starts_at: datetime
    ends_at: datetime
    utc_offset: timedelta
    dst_changed: bool


@dataclass(frozen=True)
class SeriesPlan:
    sessions: tuple[PlannedSession, ...]
    skipped: tuple[Skip, ...]

    @property
    def end_date(self) -> date | None:
        """Local date of the last planned session (None for an empty plan)."""
        return self.sessions[-1].local_date if self.sessions else None


class ClosureRejected(ValueError):
    """The series hits closed days and the caller asked not to skip them."""

    def __init__(self, skipped: tuple[Skip, ...], message: str | None = None) -> None:
        self.skipped = skipped
        if message is None:
            listed = ", ".join(f"{s.day.isoformat()} ({s.reason})" for s in skipped)
            message = f"the series falls on closed days: {listed}"
        super().__init__(message)


class CalendarExhausted(ClosureRejected):
    """So many weeks are closed that the series does not fit within max_weeks."""


@lru_cache(maxsize=64)
def _zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        # ZoneInfoNotFoundError is a KeyError; callers expect bad input as ValueError.
        raise ValueError(f"unknown time zone {zone!r}") from exc


def _format_local(local: datetime) -> str:
    fmt = "%Y-%m-%d %H:%M:%S" if local.second or local.microsecond else "%Y-%m-%d %H:%M"
    return local.strftime(fmt)


def resolve_local(day: date, at: time, zone: str) -> datetime:
    """Aware datetime for wall time `at` on `day` in `zone`; LocalTimeError in a gap or fold."""
    if at.tzinfo is not None:
        raise ValueError("start time must be a wall-clock time without tzinfo")
    tz = _zone(zone)
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    # The two folds disagree, so the wall time sits at a transition. In a gap the time never
    # shows on a clock, so a trip through UTC lands on a different wall time; in a fold it
    # comes back unchanged because it really happened (twice).
    back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    kind: LocalTimeKind = "nonexistent" if back != naive else "ambiguous"
    raise LocalTimeError(kind, naive, zone)


def expand_weekly(first_date: date, count: int, cadence_weeks: int = 1) -> list[date]:
    """`count` local dates, one every `cadence_weeks` weeks on first_date's weekday.

    Calendar days are added to the local date (7 * cadence of them), never hours to an
    instant, so the wall time stays put across DST changes at every cadence.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if cadence_weeks < 1:
        raise ValueError(f"cadence_weeks must be at least 1, got {cadence_weeks}")
    return [first_date + timedelta(days=7 * cadence_weeks * i) for i in range(count)]


def _closed_weeks(
    first_date: date, weeks: int, closed: Callable[[date], str | None], cadence_weeks: int
) -> tuple[Skip, ...]:
    hits = []
    for day in expand_weekly(first_date, weeks, cadence_weeks):
        reason = closed(day)
        if reason is not None:
            hits.append(Skip(day, reason))
    return tuple(hits)


def plan_series(
    *,
    first_date: date,
    start_time: time,
    zone: str,
    session_count: int,
    duration: timedelta,
    closed: Callable[[date], str | None],
    first_number: int = 1,
    total: int | None = None,
    policy: ClosurePolicy = "skip",
    max_weeks: int | None = None,
    previous_offset: timedelta | None = None,
    cadence_weeks: int = 1,
    phase: Callable[[int, int], CoursePhase] | None = None,
) -> SeriesPlan:
    """Plan `session_count` sessions from first_date at start_time local time in zone.

    Sessions fall every `cadence_weeks` weeks (1: weekly; maintenance series use 2 or 4).
    Closed slots are skipped with a make-up slot appended at the same cadence ("skip") or
    refused ("reject"); `max_weeks` counts slots, not calendar weeks.
    Numbers run from first_number; phases are computed against `total` sessions so that
    sessions appended to an existing series keep their place in the course.
    `previous_offset` is the UTC offset of the session before this plan (when appending),
    so that dst_changed is right for the first appended session too.
    `phase(number, total)` names each session's phase (default: the acute course's).
    """
    if session_count < 1:
        raise ValueError(f"session_count must be at least 1, got {session_count}")
    if first_number < 1:
        raise ValueError(f"first_number must be at least 1, got {first_number}")
    last_number = first_number - 1 + session_count
    course_total = last_number if total is None else total
    if course_total < last_number:
        raise ValueError(
            f"total {course_total} is smaller than the last planned session number {last_number}"
        )
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if policy not in _POLICIES:
        raise ValueError(f"policy must be one of {_POLICIES}, got {policy!r}")
    week_limit = session_count + _DEFAULT_SPARE_WEEKS if max_weeks is None else max_weeks
    if week_limit < session_count:
        raise ValueError(f"max_weeks {week_limit} is fewer than session_count {session_count}")
    _zone(zone)  # fail on a bad zone before consulting the calendar

    if policy == "reject":
        # Only the contracted weeks matter: a rejected plan has no make-up weeks.
        hits = _closed_weeks(first_date, session_count, closed, cadence_weeks)
        if hits:
            raise ClosureRejected(hits)

    sessions: list[PlannedSession] = []
    skipped: list[Skip] = []
    last_offset = previous_offset
    phase_of = phase or phase_for
    for day in expand_weekly(first_date, week_limit, cadence_weeks):
        if len(sessions) == session_count:
            break
        reason = closed(day)
        if reason is not None:
            skipped.append(Skip(day, reason))
            continue
        local = resolve_local(day, start_time, zone)
        offset = local.utcoffset()
        assert offset is not None  # zoneinfo always gives an offset for an aware datetime
        starts_at = local.astimezone(UTC)
        number = first_number + len(sessions)
        sessions.append(
            PlannedSession(
                number=number,
                phase=phase_of(number, course_total),
                local_date=day,
                local_time=start_time,
                zone=zone,
                starts_at=starts_at,
                # Elapsed time, not wall time: a session spanning a transition still lasts
                # exactly `duration`.
                ends_at=starts_at + duration,
                utc_offset=offset,
                dst_changed=last_offset is not None and offset != last_offset,
            )
        )
        last_offset = offset

    if len(sessions) < session_count:
        raise CalendarExhausted(
            tuple(skipped),
            f"only {len(sessions)} of {session_count} sessions fit in {week_limit} weeks "
            f"from {first_date.isoformat()}: {len(skipped)} weeks are closed",
        )
    return SeriesPlan(sessions=tuple(sessions), skipped=tuple(skipped))
