"""Spreading planned texts so a sender is never asked for more than one text a second."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from scheduler.domain.reminders import TextingPolicy, is_allowed
from scheduler.domain.spreading import MAX_SHIFT, Movable, bounds, spread

SEC = timedelta(seconds=1)
LA = "America/Los_Angeles"
POLICY = TextingPolicy(quiet_start=time(8), quiet_end=time(21))
# 20:59 in Seattle on Feb 23, 2027 (PST): where early-morning reminders pile up.
EVENING = datetime(2027, 2, 24, 4, 59, tzinfo=UTC)
TEN_AM = datetime(2027, 2, 24, 18, 0, tzinfo=UTC)
NOW = datetime(2027, 2, 20, tzinfo=UTC)


def movable(kind: str, at: datetime, expires_at: datetime | None = None) -> Movable:
    return bounds(kind, at, now=NOW, expires_at=expires_at, client_zone=LA, policy=POLICY)


def gaps(times: list[datetime]) -> list[timedelta]:
    ordered = sorted(times)
    return [b - a for a, b in itertools.pairwise(ordered)]


def test_a_pile_of_reminders_at_the_window_end_moves_earlier_and_stays_allowed():
    pile = [movable("reminder_2h", EVENING) for _ in range(12)]
    times = spread(pile, [], SEC)
    assert max(times) == EVENING  # never later than planned
    assert min(times) == EVENING - 11 * SEC
    assert gaps(times) == [SEC] * 11
    assert all(is_allowed(t, LA, POLICY) for t in times)


def test_a_pile_of_goal_prompts_moves_later():
    pile = [movable("goal_prompt", TEN_AM) for _ in range(60)]
    times = spread(pile, [], SEC)
    assert min(times) == TEN_AM and max(times) == TEN_AM + 59 * SEC
    assert gaps(times) == [SEC] * 59


def test_texts_already_stored_do_not_move_and_new_ones_make_room():
    taken = [TEN_AM, TEN_AM + SEC]
    times = spread([movable("goal_prompt", TEN_AM)], taken, SEC)
    assert times == [TEN_AM + 2 * SEC]
    times = spread([movable("reminder_24h", TEN_AM)], taken, SEC)
    assert times == [TEN_AM - SEC]


def test_texts_already_apart_are_left_alone():
    texts = [movable("reminder_24h", TEN_AM + k * timedelta(minutes=10)) for k in range(5)]
    assert spread(texts, [], SEC) == [t.at for t in texts]


def test_a_reminder_never_moves_before_the_window_opens_or_before_now():
    opening = datetime(2027, 2, 24, 16, 0, tzinfo=UTC)  # 08:00 in Seattle
    m = movable("reminder_2h", opening + 2 * SEC)
    assert m.earliest == opening and m.latest == m.at + MAX_SHIFT and m.earlier_first
    late = bounds(
        "reminder_2h", TEN_AM, now=TEN_AM - SEC, expires_at=None, client_zone=LA, policy=POLICY
    )
    assert late.earliest == TEN_AM - SEC
    # Room for three at and before 08:00:02; the fourth and fifth go after it.
    times = spread([m] * 5, [], SEC)
    assert times == [
        opening + 2 * SEC,
        opening + SEC,
        opening,
        opening + 3 * SEC,
        opening + 4 * SEC,
    ]


def test_reminders_at_the_window_opening_move_later_but_never_past_the_visit():
    opening = datetime(2027, 2, 24, 16, 0, tzinfo=UTC)
    visit = opening + 3 * SEC
    m = movable("reminder_2h", opening, expires_at=visit)
    assert m.latest == visit - SEC
    times = spread([m] * 4, [], SEC)
    assert times[:3] == [opening, opening + SEC, opening + 2 * SEC]
    assert times[3] == opening  # no room left before the visit: it shares a slot


def test_a_follow_up_stops_at_the_window_end_and_its_expiry():
    closing_time = datetime(2027, 2, 24, 4, 55, tzinfo=UTC)  # 20:55
    m = movable("closing", closing_time)
    assert m.latest == datetime(2027, 2, 24, 4, 59, 59, tzinfo=UTC)
    expiring = movable("goal_prompt", TEN_AM, expires_at=TEN_AM + timedelta(minutes=2))
    assert expiring.latest == TEN_AM + timedelta(minutes=2) - SEC
    assert movable("goal_prompt", TEN_AM).latest == TEN_AM + MAX_SHIFT


def test_notices_do_not_move():
    m = movable("session_changed", TEN_AM)
    assert m.earliest == m.latest == TEN_AM
    assert spread([m, m], [], SEC) == [TEN_AM, TEN_AM]


def test_bad_input():
    with pytest.raises(ValueError, match="interval"):
        spread([], [], timedelta(0))
    with pytest.raises(ValueError, match="aware"):
        bounds("reminder_2h", datetime(2027, 1, 1), now=NOW, expires_at=None, client_zone=LA,
               policy=POLICY)  # fmt: skip
