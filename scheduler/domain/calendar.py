"""Days an office is closed: its own closures plus US federal and state public holidays.

Office opening hours are not handled here; this module only answers "is this whole day off?".
Pure: stdlib and the `holidays` package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import lru_cache
from types import MappingProxyType

import holidays


def _normalise_state(state: str) -> str:
    code = state.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError(f"state must be a two-letter US code, got {state!r}")
    return code


def _normalise_years(years: Iterable[int]) -> tuple[int, ...]:
    # A sorted tuple makes equal year sets share one cache entry whatever order they came in.
    return tuple(sorted({int(y) for y in years}))


@lru_cache(maxsize=128)
def _cached_calendar(state: str, years: tuple[int, ...]) -> Mapping[date, str]:
    try:
        found = holidays.country_holidays("US", subdiv=state, years=years)
    except NotImplementedError as exc:  # what `holidays` raises for an unknown subdivision
        raise ValueError(f"unknown US state {state!r}") from exc
    # Copy out of HolidayBase: it grows itself on lookups of other years, and a cached value
    # shared by every caller must not change under them.
    return MappingProxyType({day: str(name) for day, name in found.items()})


def holiday_calendar(state: str, years: Iterable[int]) -> Mapping[date, str]:
    """US federal plus `state` public holidays in `years`, as a read-only date -> name map."""
    return _cached_calendar(_normalise_state(state), _normalise_years(years))


def closed_checker(
    state: str, closures: Mapping[date, str], years: Iterable[int] = ()
) -> Callable[[date], str | None]:
    """A `closed(day)` function for plan_series: closure reason, else "<name> (holiday)", else None.

    `years` only warms the cache; any other year is looked up when first asked for, so a
    series that runs into a new year still sees that year's holidays.
    """
    code = _normalise_state(state)
    own = dict(closures)  # snapshot: later edits to the caller's mapping do not leak in
    # Warm (and validate the state) one year at a time: `closed` looks years up singly, so
    # caching per year means series spanning different year ranges share the same entries.
    for year in _normalise_years(years) or (date.today().year,):
        holiday_calendar(code, (year,))

    def closed(day: date) -> str | None:
        if day in own:
            return own[day] or "office closed"
        name = holiday_calendar(code, (day.year,)).get(day)
        return None if name is None else f"{name} (holiday)"

    return closed
