"""`serve --demo` seeds a past to try things on: attendance, a rated goal, an inbox to work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from scheduler.db.models import InboxItem, ProgressRating, TherapySession
from scheduler.db.session import make_engine
from scheduler.locations import LocationBook
from scheduler.services import review
from scheduler.services.context import ServiceContext
from scheduler.services.demo import seed_demo
from tests.cli.test_demo_guard import migrated


@pytest.fixture
def blank(blank_database_url: str) -> Iterator[Engine]:
    """A database of its own: the demo is seeded only where there are no other accounts."""
    engine = make_engine(blank_database_url)
    yield engine
    engine.dispose()


def test_the_demo_has_past_sessions_a_review_and_an_inbox(
    blank: Engine, locations: LocationBook
) -> None:
    ctx = migrated(blank, locations)
    with Session(blank) as db, db.begin():
        _check(db, ctx)


def _check(db: Session, ctx: ServiceContext) -> None:
    seed_demo(db, ctx)
    db.flush()
    rows = db.execute(select(TherapySession.status, func.count()).group_by(TherapySession.status))
    statuses = {status: count for status, count in rows}
    assert statuses["attended"] >= 4 and statuses["no_show"] == 1
    (rating,) = db.scalars(select(ProgressRating)).all()
    assert rating.rating == 4
    # The next session after the rated week shows its weekly review: the goal and the rating.
    rated = db.get(TherapySession, rating.session_id)
    assert rated is not None and rated.weekly_goal
    later = db.scalars(
        select(TherapySession)
        .where(
            TherapySession.series_id == rated.series_id, TherapySession.starts_at > rated.starts_at
        )
        .order_by(TherapySession.starts_at)
    ).first()
    assert later is not None
    weekly = review.weekly_review(db, later.id)
    assert weekly.goal == rated.weekly_goal and weekly.latest_rating == 4
    kinds = set(db.scalars(select(InboxItem.kind)))
    assert {"reschedule_request", "free_text", "undeliverable_phone"} <= kinds
    # A second run adds nothing.
    before = db.scalar(select(func.count()).select_from(TherapySession))
    seed_demo(db, ctx)
    assert db.scalar(select(func.count()).select_from(TherapySession)) == before
