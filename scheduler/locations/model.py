"""The parsed shape of locations.yaml: the practice, its offices, and the error it raises.

Plain frozen dataclasses with no Flask or database ties, so they can be passed anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from functools import cached_property
from zoneinfo import ZoneInfo

import phonenumbers

Interval = tuple[time, time]


@dataclass(frozen=True)
class Closure:
    date: date
    reason: str


@dataclass(frozen=True)
class Location:
    id: str
    name: str
    address: str
    state: str
    zip: str
    timezone: str
    sms_number: str
    phone: str
    # Weekday (0 = Monday) -> open intervals in local wall-clock time. Excluded from the hash
    # because mappings are unhashable; equality still compares it.
    hours: Mapping[int, tuple[Interval, ...]] = field(hash=False)
    rooms: tuple[str, ...]
    closures: tuple[Closure, ...]
    reminder_leads_hours: tuple[int, ...] = (24, 2)
    sms_max_per_second: float | None = None
    # A client's cancellation this close to the start (or after it) is a late cancellation:
    # the session still counts as used.
    late_cancel_hours: int = 24
    # Local window in which texting is allowed (not the window in which it is forbidden).
    quiet_start: time = time(8)
    quiet_end: time = time(21)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def closure_on(self, day: date) -> Closure | None:
        """The closure covering ``day``, if the office is shut that day."""
        return next((c for c in self.closures if c.date == day), None)

    def is_open(self, day: date, start: time, end: time) -> bool:
        """True if the office is open for the whole local interval [start, end] on ``day``.

        Times are naive local wall-clock times at this office. A closure day is never open, and
        an interval that ends at or before its start (e.g. one wrapping midnight) never fits.
        """
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("is_open expects naive local wall-clock times")
        if end <= start or self.closure_on(day) is not None:
            return False
        return any(lo <= start and end <= hi for lo, hi in self.hours.get(day.weekday(), ()))


@dataclass(frozen=True)
class Practice:
    name: str
    phone: str


@dataclass(frozen=True)
class LocationBook:
    practice: Practice
    locations: tuple[Location, ...]
    # Each warning starts with "<office id>: " so it can be shown next to that office.
    warnings: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(loc.id for loc in self.locations)

    def get(self, id: str) -> Location | None:
        return self._by_id.get(id)

    @cached_property
    def _by_id(self) -> dict[str, Location]:
        """Offices by id, built on first use: the dispatcher looks up each text's office and
        its client's home office (a frozen dataclass still takes a cached_property)."""
        return {loc.id: loc for loc in reversed(self.locations)}  # the first of an id wins

    def __getitem__(self, id: str) -> Location:
        loc = self.get(id)
        if loc is None:
            raise KeyError(f"no office {id!r}; known: {', '.join(self.ids)}")
        return loc

    def by_sms_number(self, e164: str) -> Location | None:
        """The office whose SMS sender is ``e164`` (tolerates non-canonical formatting)."""
        wanted = _canonical_e164(e164) or e164
        return next((loc for loc in self.locations if loc.sms_number == wanted), None)

    def warnings_for(self, location_id: str) -> tuple[str, ...]:
        return tuple(w for w in self.warnings if w.startswith(f"{location_id}: "))


class LocationsError(ValueError):
    """locations.yaml is unusable; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str], source: str = "locations.yaml") -> None:
        self.errors = list(errors)
        self.source = source
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"{source}: {len(self.errors)} problem(s):\n{lines}")


def _canonical_e164(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
