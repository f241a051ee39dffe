"""The texting policy of a client at an office: window, lead times and caps, as pure values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from scheduler.domain.texting_policy import allowed_window, reminder_leads, texting_policy


@dataclass(frozen=True)
class Office:
    id: str
    quiet_start: time = time(8)
    quiet_end: time = time(21)
    reminder_leads_hours: tuple[int, ...] = (24, 2)


def test_a_client_at_home_gets_the_office_window() -> None:
    office = Office("tucson", time(9), time(20))
    assert allowed_window(office) == (time(9), time(20))
    assert allowed_window(office, office) == (time(9), time(20))


def test_the_stricter_of_office_and_home_binds() -> None:
    office = Office("seattle", time(8), time(21))
    home = Office("miami", time(9), time(20, 30))
    assert allowed_window(office, home) == (time(9), time(20, 30))
    assert allowed_window(home, office) == (time(9), time(20, 30))


def test_disjoint_windows_fall_back_to_the_sessions_office() -> None:
    office = Office("early", time(8), time(10))
    home = Office("late", time(18), time(21))
    assert allowed_window(office, home) == (time(8), time(10))


def test_at_most_the_longest_and_the_shortest_lead_are_kept() -> None:
    assert reminder_leads(Office("a", reminder_leads_hours=(2, 48, 24))) == (
        timedelta(hours=48),
        timedelta(hours=2),
    )
    assert reminder_leads(Office("b", reminder_leads_hours=(3,))) == (timedelta(hours=3),)


def test_the_policy_carries_window_leads_and_caps() -> None:
    policy = texting_policy(
        Office("seattle", time(8), time(21), (24, 2)),
        Office("miami", time(9), time(20)),
        max_per_day=3,
        max_per_week=5,
    )
    assert (policy.quiet_start, policy.quiet_end) == (time(9), time(20))
    assert policy.reminder_leads == (timedelta(hours=24), timedelta(hours=2))
    assert (policy.max_per_day, policy.max_per_week) == (3, 5)
