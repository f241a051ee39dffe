"""IPT course phases (session k of N) and the four problem areas.

Pure: no IO, no framework imports.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

Phase = Literal["initial", "middle", "termination"]
# A maintenance series (monthly, after an acute course) has one phase throughout.
CoursePhase = Literal["initial", "middle", "termination", "maintenance"]
SeriesKind = Literal["acute", "maintenance"]
ProblemArea = Literal["grief", "role_dispute", "role_transition", "interpersonal_deficits"]

PHASES: tuple[Phase, ...] = ("initial", "middle", "termination")
SERIES_KINDS: tuple[SeriesKind, ...] = ("acute", "maintenance")
# Weeks between two sessions of a series: weekly, fortnightly, four-weekly ("monthly").
CADENCES: tuple[int, ...] = (1, 2, 4)
MAINTENANCE_MAX_SESSIONS = 12
PROBLEM_AREAS: tuple[ProblemArea, ...] = (
    "grief",
    "role_dispute",
    "role_transition",
    "interpersonal_deficits",
)

# Courses of 12 or more sessions get three initial and three termination sessions;
# shorter (brief) courses get two of each, per the IPT brief in shared/IPT.md.
_FULL_COURSE_FROM = 12


def _edge_length(session_count: int) -> int:
    return 3 if session_count >= _FULL_COURSE_FROM else 2


def _check_count(session_count: int) -> None:
    if session_count < 1:
        raise ValueError(f"session_count must be at least 1, got {session_count}")


def termination_starts_at(session_count: int) -> int:
    """First session number of the termination phase of an N-session course."""
    _check_count(session_count)
    # max() keeps tiny courses sensible: a 1-session course is all termination.
    return max(1, session_count - _edge_length(session_count) + 1)


def initial_ends_at(session_count: int) -> int:
    """Last session number of the initial phase (it may overlap termination when N < 4)."""
    _check_count(session_count)
    return min(_edge_length(session_count), session_count)


def phase_for(number: int, session_count: int) -> Phase:
    """Phase of session `number` (1-based) in a course of `session_count` sessions."""
    _check_count(session_count)
    if not 1 <= number <= session_count:
        raise ValueError(f"session number {number} is outside 1..{session_count}")
    # Termination wins where the edges overlap (N < 4): the ending of a course is the part the
    # practice must plan for (final-session reminders, maintenance offers).
    if number >= termination_starts_at(session_count):
        return "termination"
    if number <= initial_ends_at(session_count):
        return "initial"
    return "middle"


# Pure and asked for every session a list shows (an office's week: some fifty), over a few
# hundred possible arguments: kept. Errors are not cached (lru_cache re-raises every time).
@lru_cache(maxsize=1024)
def course_phase(kind: SeriesKind | str, number: int, session_count: int) -> CoursePhase:
    """Phase of session `number` in a series of `kind`: every maintenance session is maintenance."""
    if kind == "maintenance":
        _check_count(session_count)
        if not 1 <= number <= session_count:
            raise ValueError(f"session number {number} is outside 1..{session_count}")
        return "maintenance"
    return phase_for(number, session_count)


def offer_maintenance_before(session_count: int) -> int:
    """The session at which the front desk offers maintenance: two sessions before the end."""
    _check_count(session_count)
    return max(1, session_count - 2)
