"""Which visit a free text concerns: today's (under way or within 3 hours), else the next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.domain.reply_context import SOON, LikelyVisit, VisitTimes, likely_visit

START = datetime(2027, 3, 3, 1, 0, tzinfo=UTC)  # Wed 5:00 PM in Seattle
HOUR = timedelta(hours=1)


def visit(i: int, start: datetime, office: str = "seattle") -> VisitTimes:
    return VisitTimes(i, start, start + timedelta(minutes=50), office)


TODAY = visit(1, START)
NEXT_WEEK = visit(2, START + timedelta(weeks=1))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (START - timedelta(hours=2, minutes=59), LikelyVisit(1, "soon")),
        (START - SOON, LikelyVisit(1, "soon")),  # exactly 3 hours ahead is still today's
        (START - SOON - timedelta(minutes=1), LikelyVisit(1, "next")),
        (START, LikelyVisit(1, "under_way")),
        (START + timedelta(minutes=10), LikelyVisit(1, "under_way")),  # "running 10 min late"
        (START + timedelta(minutes=49), LikelyVisit(1, "under_way")),
        (TODAY.ends_at, LikelyVisit(2, "next")),  # just ended: the next one
        (TODAY.ends_at + HOUR, LikelyVisit(2, "next")),
    ],
)
def test_today_first_then_the_next(now: datetime, expected: LikelyVisit) -> None:
    assert likely_visit([NEXT_WEEK, TODAY], now) == expected


def test_none_today_is_the_next_one() -> None:
    assert likely_visit([NEXT_WEEK], START) == LikelyVisit(2, "next")


def test_none_at_all() -> None:
    assert likely_visit([], START) is None
    assert likely_visit([TODAY], TODAY.ends_at) is None


def test_the_next_one_prefers_the_office_texted() -> None:
    elsewhere = visit(3, START + timedelta(days=2), "dallas")
    later_here = visit(4, START + timedelta(days=5))
    assert likely_visit([elsewhere, later_here], START, office_id="seattle") == LikelyVisit(
        4, "next"
    )
    assert likely_visit([elsewhere, later_here], START, office_id="folsom") == LikelyVisit(
        3, "next"
    )


def test_today_wins_over_the_office_preference() -> None:
    soon_elsewhere = visit(3, START, "dallas")
    assert likely_visit([soon_elsewhere, NEXT_WEEK], START - HOUR, office_id="seattle") == (
        LikelyVisit(3, "soon")
    )


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        likely_visit([TODAY], datetime(2027, 3, 3, 1, 0))
