"""Helpers shared by the dispatcher's and the text planner's integration tests.

Their fixtures (`clock`, `tctx`, `gateway`, `dispatcher`) are in this folder's conftest.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.db.models import OutboundMessage
from tests import factories


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def rows(db, **where) -> list[OutboundMessage]:
    db.expire_all()
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    for key, value in where.items():
        query = query.where(getattr(OutboundMessage, key) == value)
    return list(db.scalars(query))


def book(db, tctx, **kw):
    """A committed 12-visit series, Wednesdays at 17:00 from Feb 24, 2027, unless kw says."""
    kw.setdefault("first", date(2027, 2, 24))
    kw.setdefault("at", time(17))
    kw.setdefault("count", 12)
    series = factories.series(db, tctx, **kw)
    db.commit()
    return series


def at_local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ZoneInfo("America/Los_Angeles")).astimezone(
        UTC
    )
