"""Weekly reviews for many sessions at once (the therapist's week) read what one-by-one reads.

`review.weekly_reviews` reads the prompts, replies and ratings of every session's week in one
query per kind and sorts them into weeks in Python; each session must get exactly the rows its
own `weekly_review` finds, and the number of statements must not grow with the sessions.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from scheduler.db.models import TherapySession
from scheduler.db.models.inbound import ProgressRating
from scheduler.services import review
from scheduler.services.context import ServiceContext
from scheduler.texts.history import messages_for_sessions
from tests import factories
from tests.support.statements import statements
from tests.web.access_world import _text
from tests.web.inbound_support import sent_goal_prompt


def _week_rows(db: Session, ctx: ServiceContext) -> list[TherapySession]:
    """Two clients of one therapist, each with prompts, replies and ratings in several weeks."""
    therapist = factories.therapist(db, ctx, "seattle", name="Dr. Week")
    sessions: list[TherapySession] = []
    for n, area in enumerate(("206555", "206556")):
        client = factories.client(db, ctx, "seattle", first_name="Casey", phone=f"+1{area}0170")
        series = factories.series(
            db, ctx, first=date(2027, 3, 1), at=time(9 + n), count=8,
            therapist_obj=therapist, client_obj=client,
        )  # fmt: skip
        ordered = sorted(series.sessions, key=lambda s: s.starts_at)
        for week, s in enumerate(ordered[:4]):
            sent = s.starts_at + timedelta(days=3)
            prompt = sent_goal_prompt(db, client, s, sent_at=sent)
            item = _text(
                db, client, "seattle", f"Week {week}", sent + timedelta(hours=1), "free_text"
            )
            db.flush()
            db.add(
                ProgressRating(
                    client_id=client.id, session_id=s.id, prompt_message_id=prompt.id,
                    inbound_message_id=item.inbound_message_id,
                    rating=1 + week % 5, received_at=sent + timedelta(hours=2),
                )
            )  # fmt: skip
        db.commit()
        sessions.extend(ordered)
    return sessions


def _ids(found: review.WeeklyReview) -> tuple[object, ...]:
    return (
        found.previous.id if found.previous else None,
        found.week_start,
        [m.id for m in found.prompts],
        [m.id for m in found.replies],
        [r.id for r in found.ratings],
    )


def test_reviews_of_many_sessions_match_each_one(
    db: Session, ctx: ServiceContext, engine: Engine
) -> None:
    sessions = _week_rows(db, ctx)
    one_by_one = {s.id: _ids(review.weekly_review(db, s.id)) for s in sessions}
    assert sum(len(v[2]) for v in one_by_one.values()) == 8  # the rows are there to sort
    db.expire_all()
    again = [db.get(TherapySession, s.id) for s in sessions]
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        together = review.weekly_reviews(db, [s for s in again if s is not None])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert {k: _ids(v) for k, v in together.items()} == one_by_one
    # Previous sessions, prompts, replies and ratings (+ lazy loads of the two series).
    assert len([s for s in statements if "FROM series" not in s]) == 4


def test_reviews_read_with_the_texts_match_the_separate_reads(
    db: Session, ctx: ServiceContext, engine: Engine
) -> None:
    """The therapist's week reads its reviews' goal prompts in the same SELECT as its texts."""
    sessions = _week_rows(db, ctx)
    reviewed, shown = sessions[1:5] + sessions[9:12], [s.id for s in sessions[::2]]
    apart = {k: _ids(v) for k, v in review.weekly_reviews(db, reviewed).items()}
    texts = {k: [m.id for m in v] for k, v in messages_for_sessions(db, shown).items()}
    assert sum(len(v[2]) for v in apart.values()) >= 4 and len(texts) == len(shown)
    db.expire_all()
    again = [s for s in (db.get(TherapySession, s.id) for s in sessions) if s is not None]
    for s in again:  # as on the page: the series' sessions came with the active series
        assert len(s.series.sessions) == 8
    ids = {s.id for s in reviewed}
    with statements(engine) as seen_statements:
        reviews, together = review.weekly_reviews_and_texts(
            db, [s for s in again if s.id in ids], shown
        )
    assert {k: _ids(v) for k, v in reviews.items()} == apart
    assert {k: [m.id for m in v] for k, v in together.items()} == texts
    # Prompts and texts, replies, ratings: nothing else.
    assert len(seen_statements) == 3, seen_statements
    assert review.weekly_reviews_and_texts(db, [], []) == ({}, {})
