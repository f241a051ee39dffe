"""`serve --demo` seeds a past to try things on: attendance, a rated goal, an inbox to work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from scheduler.db.models import (
    Alert,
    InboxItem,
    MeasureResponse,
    ProgressRating,
    Series,
    TherapySession,
)
from scheduler.db.session import make_engine
from scheduler.locations import LocationBook
from scheduler.services import review, termination
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
    assert statuses["attended"] >= 4 and statuses["no_show"] == 2
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


def test_the_demo_has_measures_a_course_ending_and_one_in_maintenance(
    blank: Engine, locations: LocationBook
) -> None:
    ctx = migrated(blank, locations)
    with Session(blank) as db, db.begin():
        seed_demo(db, ctx)
        db.flush()
        now = ctx.clock()
        phq9 = db.scalars(select(MeasureResponse).where(MeasureResponse.instrument == "phq9"))
        by_series: dict[int, list[int]] = {}
        for m in phq9:
            by_series.setdefault(m.series_id, []).append(m.score)
        # Courses whose scores fall over the weeks, and no alert (no banner in the demo).
        assert any(len(scores) >= 3 and scores[0] > scores[-1] for scores in by_series.values())
        assert db.scalar(select(func.count()).select_from(Alert)) == 0
        assert db.scalar(select(func.count()).where(MeasureResponse.instrument == "gad7")) >= 2
        acute = db.scalars(select(Series).where(Series.kind == "acute")).all()
        ending = [s for s in acute if termination.course_status(s, now).termination_reached]
        assert ending, "no course in its termination phase"
        offers = db.scalars(select(InboxItem).where(InboxItem.kind == "offer_maintenance")).all()
        assert {o.status for o in offers} == {"open", "resolved"}
        [maint] = db.scalars(select(Series).where(Series.kind == "maintenance")).all()
        assert maint.cadence_weeks == 4 and maint.continues_series_id is not None
        held = [s for s in maint.sessions if s.status == "attended"]
        assert held and {s.phase for s in maint.sessions} == {"maintenance"}
        continued = db.get(Series, maint.continues_series_id)
        assert continued is not None and continued.client_id == maint.client_id
        assert all(s.status == "attended" for s in continued.sessions if s.counts)
