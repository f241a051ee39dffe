"""Which texting rules bind one client of one office: the allowed window, lead times and caps.

Pure: an office is anything with the attributes of `OfficeTextingRules` (the offices of
locations.yaml have them), and the caps are plain numbers from the settings. The checks that use
the result (quiet hours, caps) are in `reminders`.
"""

from __future__ import annotations

from datetime import time, timedelta
from functools import lru_cache
from typing import Protocol

from .reminders import TextingPolicy

# The planner sends at most two reminders: the earliest and the last of an office's lead times.
MAX_REMINDERS = 2


class OfficeTextingRules(Protocol):
    """What an office says about texting (scheduler.locations.Location has these)."""

    @property
    def id(self) -> str: ...
    @property
    def quiet_start(self) -> time: ...
    @property
    def quiet_end(self) -> time: ...
    @property
    def reminder_leads_hours(self) -> tuple[int, ...]: ...


def allowed_window(
    office: OfficeTextingRules, home: OfficeTextingRules | None = None
) -> tuple[time, time]:
    """The local window in which a client of `office` living near `home` may be texted.

    The stricter of the two offices' windows: a state's law binds where the recipient is, and
    the home office is our best knowledge of that. Disjoint windows fall back to the session's
    office.
    """
    start, end = office.quiet_start, office.quiet_end
    if home is not None and home.id != office.id:
        start, end = max(start, home.quiet_start), min(end, home.quiet_end)
        if start >= end:
            start, end = office.quiet_start, office.quiet_end
    return start, end


def reminder_leads(office: OfficeTextingRules) -> tuple[timedelta, ...]:
    """The office's reminder lead times, longest first, at most the first and the last."""
    leads = sorted(office.reminder_leads_hours, reverse=True)
    if len(leads) > MAX_REMINDERS:
        leads = [leads[0], leads[-1]]
    return tuple(timedelta(hours=h) for h in leads)


@lru_cache(maxsize=256)  # frozen values in, a frozen value out; a dispatcher asks once per text
def texting_policy(
    office: OfficeTextingRules,
    home: OfficeTextingRules | None,
    *,
    max_per_day: int,
    max_per_week: int,
) -> TextingPolicy:
    """The texting rules for a client of `office` who lives near `home`."""
    start, end = allowed_window(office, home)
    return TextingPolicy(
        quiet_start=start,
        quiet_end=end,
        max_per_day=max_per_day,
        max_per_week=max_per_week,
        reminder_leads=reminder_leads(office),
    )
