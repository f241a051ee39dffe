"""The demo seeds at any hour of any day: its past is built from today, so a clash between
its series (or a session not yet prompted) would break `serve --demo` at some hours only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from scheduler.db.models import Client, InboxItem, ProgressRating, Series
from scheduler.db.session import make_engine
from scheduler.locations import LocationBook
from scheduler.services.demo import seed_demo
from tests.cli.test_demo_guard import migrated

TUCSON = ZoneInfo("America/Phoenix")
# A week from a Monday, at hours before, during and after the office's day (the demo's own
# series meet at 9 AM, 1 PM and 4 PM).
MONDAY = datetime(2027, 3, 1, tzinfo=TUCSON)
TIMES = [MONDAY + timedelta(days=d, hours=h) for d in range(7) for h in (2, 9, 14, 17, 21)]
# Days whose past weeks hold holidays the courses skip: January's and February's Monday
# holidays both within Nora's ten weeks (a Monday course), the year's end, Thanksgiving.
SEASONS = [
    datetime(2027, 3, 13, 9, tzinfo=TUCSON),
    datetime(2027, 3, 20, 9, tzinfo=TUCSON),
    datetime(2026, 12, 24, 8, tzinfo=TUCSON),
    datetime(2027, 1, 1, 14, tzinfo=TUCSON),
    datetime(2027, 11, 26, 9, tzinfo=TUCSON),
    datetime(2028, 2, 29, 17, tzinfo=TUCSON),
]


@pytest.fixture
def blank(blank_database_url: str) -> Iterator[Engine]:
    engine = make_engine(blank_database_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("at", TIMES, ids=[t.strftime("%a-%H") for t in TIMES])
def test_the_demo_seeds_at_any_time(blank: Engine, locations: LocationBook, at: datetime) -> None:
    seeded_as_shown(blank, locations, at)


@pytest.mark.parametrize("at", SEASONS, ids=[t.strftime("%Y-%m-%d") for t in SEASONS])
def test_the_demo_seeds_after_holidays(
    blank: Engine, locations: LocationBook, at: datetime
) -> None:
    seeded_as_shown(blank, locations, at)


def seeded_as_shown(blank: Engine, locations: LocationBook, at: datetime) -> None:
    """The demo seeds at `at` with what its pages are shown with: Nora's course near its end,
    its "offer maintenance" task waiting."""
    ctx = replace(migrated(blank, locations), clock=lambda: at)
    with Session(blank) as db, db.begin():
        seed_demo(db, ctx)
        db.flush()
        assert db.scalar(select(func.count()).select_from(Series)) >= 6
        assert db.scalar(select(func.count()).select_from(ProgressRating)) == 1
        assert db.scalar(select(func.count()).select_from(InboxItem)) >= 3
        nora = db.scalars(select(Client).where(Client.first_name == "Nora")).one()
        offers = select(InboxItem).where(
            InboxItem.client_id == nora.id,
            InboxItem.kind == "offer_maintenance",
            InboxItem.status == "open",
        )
        assert len(db.scalars(offers).all()) == 1
