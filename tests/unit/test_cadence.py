"""Series at a cadence of 1, 2 or 4 weeks: wall clock, DST, holidays and make-up slots."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from scheduler.domain.calendar import closed_checker
from scheduler.domain.phases import course_phase, offer_maintenance_before
from scheduler.domain.series import expand_weekly, plan_series

SEATTLE = "America/Los_Angeles"


def test_expand_at_a_cadence_adds_calendar_days() -> None:
    assert expand_weekly(date(2027, 10, 14), 3, 4) == [
        date(2027, 10, 14),
        date(2027, 11, 11),
        date(2027, 12, 9),
    ]
    assert expand_weekly(date(2027, 1, 1), 2, 2) == [date(2027, 1, 1), date(2027, 1, 15)]
    with pytest.raises(ValueError, match="cadence_weeks"):
        expand_weekly(date(2027, 1, 1), 2, 0)


def test_four_weekly_maintenance_across_fall_back_and_veterans_day() -> None:
    plan = plan_series(
        first_date=date(2027, 10, 14),
        start_time=time(17),
        zone=SEATTLE,
        session_count=3,
        duration=timedelta(minutes=50),
        closed=closed_checker("WA", {}, [2027, 2028]),
        cadence_weeks=4,
        phase=lambda n, total: course_phase("maintenance", n, total),
    )
    # Veterans Day (Thursday 11 Nov) is skipped and made up one cadence after the last slot.
    assert [s.day for s in plan.skipped] == [date(2027, 11, 11)]
    assert [s.local_date for s in plan.sessions] == [
        date(2027, 10, 14),
        date(2027, 12, 9),
        date(2028, 1, 6),
    ]
    # 17:00 on the wall clock throughout; the UTC offset moves with the fall-back change.
    assert all(s.local_time == time(17) for s in plan.sessions)
    assert [s.utc_offset for s in plan.sessions] == [
        timedelta(hours=-7),
        timedelta(hours=-8),
        timedelta(hours=-8),
    ]
    assert [s.dst_changed for s in plan.sessions] == [False, True, False]
    assert {s.phase for s in plan.sessions} == {"maintenance"}


def test_reject_policy_names_the_closed_slot_at_any_cadence() -> None:
    from scheduler.domain.series import ClosureRejected

    with pytest.raises(ClosureRejected) as err:
        plan_series(
            first_date=date(2027, 10, 14),
            start_time=time(17),
            zone=SEATTLE,
            session_count=3,
            duration=timedelta(minutes=50),
            closed=closed_checker("WA", {}, [2027]),
            cadence_weeks=4,
            policy="reject",
        )
    assert [s.day for s in err.value.skipped] == [date(2027, 11, 11)]


def test_course_phase_and_offer_point() -> None:
    assert course_phase("maintenance", 3, 12) == "maintenance"
    assert course_phase("acute", 14, 16) == "termination"
    assert offer_maintenance_before(16) == 14
    assert offer_maintenance_before(8) == 6
    with pytest.raises(ValueError):
        course_phase("maintenance", 13, 12)
