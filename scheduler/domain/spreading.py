"""Spreading planned send times so that no sender is asked for more than its rate.

A sending number takes one text per `interval` (1 second for a US long code). Planning puts
many texts on the same instant: every 10:00 goal prompt of a busy day, the reminders of visits
that start together, the early-morning reminders all moved to 20:59 the evening before. Sent
as planned, each pile drains one a second, so its last text is late by the pile's size, and a
pile at the end of the allowed window drains into quiet hours, where what is left waits until
morning (or expires).

So the planner moves texts apart before storing them, each within bounds that keep it useful
and allowed (`bounds`):

- reminders and questionnaire links move EARLIER where they can (a pile at 20:59 must not
  drain into quiet hours), and later only where the window opens right there (the 24-hour
  reminders of 08:00 visits), never past their expiry (the visit);
- goal prompts and closing texts only move LATER, not past their expiry;
- nothing moves by more than `MAX_SHIFT`, before now, or out of the allowed window that day;
- notices are not moved: they are due now and go out first.

`spread` then gives every text a time at least `interval` from every other on the sender,
texts already stored included (those are fixed). Where bounds make that impossible, a text
keeps its planned time and the dispatcher's pacing absorbs the rest. Pure: plain values in
and out.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .reminders import TextingPolicy

# How far one text may move to make room: small against any lead time or follow-up day.
MAX_SHIFT = timedelta(minutes=15)
EARLIER_FIRST = frozenset({"reminder_24h", "reminder_2h", "measure_link"})
LATER_ONLY = frozenset({"goal_prompt", "closing"})
_SECOND = timedelta(seconds=1)
_TINY = timedelta(microseconds=1)


@dataclass(frozen=True)
class Movable:
    """A text's planned time, the earliest and latest time it may be moved to, and which way
    it looks for room first."""

    at: datetime
    earliest: datetime
    latest: datetime
    earlier_first: bool = False


def bounds(
    kind: str,
    at: datetime,
    *,
    now: datetime,
    expires_at: datetime | None,
    client_zone: str,
    policy: TextingPolicy,
) -> Movable:
    """How far a text of `kind` planned for `at` may move (see the module's rules)."""
    if at.tzinfo is None or now.tzinfo is None:
        raise ValueError("at and now must be aware datetimes")
    tz = ZoneInfo(client_zone)
    day = at.astimezone(tz).date()
    opens = datetime.combine(day, policy.quiet_start, tz).astimezone(UTC)
    closes = datetime.combine(day, policy.quiet_end, tz).astimezone(UTC) - _SECOND
    earliest = latest = at
    if kind in EARLIER_FIRST or kind in LATER_ONLY:
        latest = min(at + MAX_SHIFT, closes)
        if expires_at is not None:
            latest = min(latest, expires_at - _SECOND)
    if kind in EARLIER_FIRST:
        earliest = max(at - MAX_SHIFT, opens, now)
    # A text already outside its bounds (planned in the past, say) is not moved at all.
    return Movable(at, min(earliest, at), max(latest, at), kind in EARLIER_FIRST)


def spread(
    texts: Sequence[Movable], taken: Sequence[datetime], interval: timedelta
) -> list[datetime]:
    """New times for `texts` (same order), each `interval` apart from one another and from
    the fixed `taken` times of the same sender, as far as each text's bounds allow.

    Texts are placed one at a time, in planned order, at the nearest free time on their
    preferred side of their planned time (then the other, if allowed); one with no room
    within its bounds keeps its planned time and the dispatcher's pacing absorbs the rest.
    """
    if interval <= timedelta(0):
        raise ValueError("interval must be positive")
    placed = sorted(taken)
    result = [t.at for t in texts]
    for index in sorted(range(len(texts)), key=lambda i: (texts[i].at, i)):
        text = texts[index]
        found = _free_near(placed, text, interval)
        if found is not None:
            result[index] = found
        bisect.insort(placed, result[index])
    return result


def _free_near(placed: list[datetime], text: Movable, interval: timedelta) -> datetime | None:
    """The free time nearest `text.at` within its bounds, looking its preferred way first."""
    ways = (-1, 1) if text.earlier_first else (1,)
    for way in ways:
        at = text.at
        while text.earliest <= at <= text.latest:
            lo = bisect.bisect_left(placed, at - interval + _TINY)
            hi = bisect.bisect_left(placed, at + interval)
            clash = placed[lo:hi]
            if not clash:
                return at
            # Jump just past the clash on this side.
            at = min(clash) - interval if way < 0 else max(clash) + interval
    return None
