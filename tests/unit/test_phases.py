"""Phases of an IPT course: session k of N."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.domain.phases import (
    PROBLEM_AREAS,
    initial_ends_at,
    phase_for,
    termination_starts_at,
)
from scheduler.domain.series import SeriesPlan, plan_series


def _phases(n: int) -> list[str]:
    return [phase_for(k, n) for k in range(1, n + 1)]


def test_brief_course_of_eight_has_two_initial_and_two_termination() -> None:
    assert _phases(8) == ["initial"] * 2 + ["middle"] * 4 + ["termination"] * 2
    assert termination_starts_at(8) == 7


def test_course_of_twelve() -> None:
    assert _phases(12) == ["initial"] * 3 + ["middle"] * 6 + ["termination"] * 3
    assert termination_starts_at(12) == 10


def test_course_of_sixteen() -> None:
    assert _phases(16) == ["initial"] * 3 + ["middle"] * 10 + ["termination"] * 3
    assert termination_starts_at(16) == 14


def test_course_of_twenty() -> None:
    assert _phases(20) == ["initial"] * 3 + ["middle"] * 14 + ["termination"] * 3
    assert termination_starts_at(20) == 18


def test_eleven_is_still_a_short_course() -> None:
    assert _phases(11) == ["initial"] * 2 + ["middle"] * 7 + ["termination"] * 2


def test_tiny_courses_end_in_termination() -> None:
    # Where the two edges overlap, the ending wins: it is what the practice plans around.
    assert _phases(1) == ["termination"]
    assert _phases(3) == ["initial", "termination", "termination"]
    assert _phases(4) == ["initial", "initial", "termination", "termination"]


@pytest.mark.parametrize(("number", "count"), [(0, 12), (13, 12), (-1, 8), (1, 0)])
def test_out_of_range_is_rejected(number: int, count: int) -> None:
    with pytest.raises(ValueError):
        phase_for(number, count)


def test_termination_start_needs_a_course() -> None:
    with pytest.raises(ValueError):
        termination_starts_at(0)


def test_problem_areas_are_the_four_api_values() -> None:
    assert PROBLEM_AREAS == ("grief", "role_dispute", "role_transition", "interpersonal_deficits")


@given(st.integers(min_value=4, max_value=40))
def test_phases_are_contiguous_blocks(n: int) -> None:
    phases = _phases(n)
    # initial*, middle*, termination+ in that order, with no interleaving.
    order = {"initial": 0, "middle": 1, "termination": 2}
    assert [order[p] for p in phases] == sorted(order[p] for p in phases)
    edge = 3 if n >= 12 else 2
    assert phases.count("initial") == initial_ends_at(n) == edge
    assert phases.count("termination") == edge
    assert phases.index("termination") + 1 == termination_starts_at(n)


def plan(**overrides: object) -> SeriesPlan:
    args: dict[str, object] = {
        "first_date": date(2027, 2, 24),
        "start_time": time(17, 0),
        "zone": "America/Los_Angeles",
        "session_count": 16,
        "duration": timedelta(minutes=50),
        "closed": lambda day: None,
    }
    args.update(overrides)
    return plan_series(**args)  # type: ignore[arg-type]


# --- numbering and phases in a planned series ----------------------------------------------


def test_numbering_and_phases_of_a_full_course() -> None:
    sessions = plan(session_count=12).sessions
    assert [s.phase for s in sessions] == ["initial"] * 3 + ["middle"] * 6 + ["termination"] * 3


def test_appended_sessions_keep_their_place_in_the_course() -> None:
    sessions = plan(
        first_date=date(2027, 6, 2), session_count=4, first_number=13, total=16
    ).sessions
    assert [s.number for s in sessions] == [13, 14, 15, 16]
    assert [s.phase for s in sessions] == ["middle", "termination", "termination", "termination"]


def test_total_defaults_to_the_last_number() -> None:
    sessions = plan(session_count=3, first_number=5).sessions
    # Course of 7 (< 12): termination is sessions 6 and 7.
    assert [(s.number, s.phase) for s in sessions] == [
        (5, "middle"),
        (6, "termination"),
        (7, "termination"),
    ]
