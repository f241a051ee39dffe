"""Which visit a client's free-text message most likely concerns.

"Running 10 min late" sent during today's visit is about today's visit, not next week's. In
order:

1. a visit under way (start <= now < end): "I'm in the lobby", "running late";
2. a visit starting within `SOON` (now < start <= now + 3 hours): "on my way";
3. the next visit to come, preferring the office the text was sent to.

A visit that has just ended is no longer "today's" in this sense: a text after it is about
what comes next. Pure: plain values in, the chosen visit out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

SOON = timedelta(hours=3)
Why = Literal["under_way", "soon", "next"]


@dataclass(frozen=True)
class VisitTimes:
    """What choosing needs of one visit that is still going ahead."""

    id: int
    starts_at: datetime
    ends_at: datetime
    office_id: str | None = None


@dataclass(frozen=True)
class LikelyVisit:
    id: int
    why: Why


def likely_visit(
    visits: Iterable[VisitTimes], now: datetime, *, office_id: str | None = None
) -> LikelyVisit | None:
    """The visit a text received at `now` most likely concerns; None if there is none."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    ordered = sorted(visits, key=lambda v: (v.starts_at, v.id))
    under_way = [v for v in ordered if v.starts_at <= now < v.ends_at]
    if under_way:
        # Two overlapping visits cannot both be the client's; the later start is the one
        # they are in now.
        return LikelyVisit(under_way[-1].id, "under_way")
    ahead = [v for v in ordered if v.starts_at > now]
    if ahead and ahead[0].starts_at - now <= SOON:
        return LikelyVisit(ahead[0].id, "soon")
    if not ahead:
        return None
    here = [v for v in ahead if v.office_id == office_id]
    return LikelyVisit((here or ahead)[0].id, "next")
