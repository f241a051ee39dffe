"""Fixtures and helpers shared by the dispatcher's integration tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.db.models import OutboundMessage
from scheduler.services.dispatch import Dispatcher
from scheduler.sms.fake import FakeGateway
from tests import factories


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    # A Monday morning in Seattle, well inside the allowed window.
    return Clock(datetime(2027, 2, 15, 18, 0, tzinfo=UTC))


@pytest.fixture
def tctx(ctx, clock):
    fast = replace(ctx.settings, sms_max_per_second=1000.0)
    return replace(ctx, settings=fast, clock=clock)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def dispatcher(container, tctx, gateway):
    d = Dispatcher(container.sessions, tctx, gateway, worker_id="test-worker")
    yield d
    d.close()


def rows(db, **where) -> list[OutboundMessage]:
    db.expire_all()
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    for key, value in where.items():
        query = query.where(getattr(OutboundMessage, key) == value)
    return list(db.scalars(query))


def book(db, tctx, **kw):
    series = factories.series(db, tctx, first=date(2027, 2, 24), at=time(17), count=12, **kw)
    db.commit()
    return series


def at_local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ZoneInfo("America/Los_Angeles")).astimezone(
        UTC
    )
