"""The booking preview says which extra session makes up which skipped date, at any cadence."""

from __future__ import annotations

from datetime import date

from scheduler.domain.series import Skip
from scheduler.web.frontdesk.present import _make_ups


def test_weekly_course_with_one_holiday() -> None:
    held = [date(2028, 2, 7), date(2028, 2, 14), date(2028, 2, 28), date(2028, 3, 6)]
    presidents = Skip(date(2028, 2, 21), "Presidents' Day (holiday)")
    assert _make_ups(held, [presidents]) == {presidents: date(2028, 3, 6)}


def test_four_weekly_maintenance_whose_make_up_date_is_itself_a_holiday() -> None:
    """Mondays every 4 weeks from 18 January 2027: two holidays among the six contracted
    dates, and the first make-up date (5 July, observed) a holiday too."""
    held = [
        date(2027, 3, 15),
        date(2027, 4, 12),
        date(2027, 5, 10),
        date(2027, 6, 7),  # the sixth contracted date, not a make-up
        date(2027, 8, 2),
        date(2027, 8, 30),
    ]
    mlk = Skip(date(2027, 1, 18), "MLK Day")
    presidents = Skip(date(2027, 2, 15), "Presidents' Day")
    july = Skip(date(2027, 7, 5), "Independence Day (observed)")
    found = _make_ups(held, [mlk, presidents, july])
    assert found == {mlk: date(2027, 8, 2), presidents: date(2027, 8, 30)}
    assert july not in found


def test_nothing_skipped() -> None:
    assert _make_ups([date(2028, 1, 3)], []) == {}
