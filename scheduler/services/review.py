"""The weekly review a therapist reads before a session: last week's goal and the client's answers.

The week under review runs from the previous held (not cancelled) session of the same series up
to this session. Prompts and replies are found by time within that week rather than by their
session link, so a prompt planned against a session that was later moved still shows up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..db.models import TherapySession
from ..db.models.inbound import InboundMessage, ProgressRating
from ..db.models.messaging import OutboundMessage
from .session_changes import get_session

# Inbound outcomes that are the client's own words or rating (not STOP, HELP, C, R and such).
REPLY_OUTCOMES = ("inbox", "rating")

_Row = TypeVar("_Row", OutboundMessage, InboundMessage, ProgressRating)


@dataclass(frozen=True)
class WeeklyReview:
    session: TherapySession
    previous: TherapySession | None
    week_start: datetime
    prompts: list[OutboundMessage]
    replies: list[InboundMessage]
    ratings: list[ProgressRating]

    @property
    def goal(self) -> str | None:
        return self.previous.weekly_goal if self.previous is not None else None

    @property
    def latest_rating(self) -> int | None:
        return self.ratings[-1].rating if self.ratings else None


def previous_session(db: Session, session: TherapySession) -> TherapySession | None:
    """The latest earlier session of the series that was not cancelled (where the goal was set)."""
    query = (
        select(TherapySession)
        .where(
            TherapySession.series_id == session.series_id,
            TherapySession.starts_at < session.starts_at,
            TherapySession.status != "cancelled",
        )
        .order_by(TherapySession.starts_at.desc())
        .limit(1)
    )
    return db.scalar(query)


def _in_week(
    db: Session,
    entity: type[_Row],
    at: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    client_id: int,
    start: datetime,
    end: datetime,
    *criteria: ColumnElement[bool],
) -> list[_Row]:
    """The client's rows of `entity` whose `at` falls in [start, end), in time order."""
    query = (
        select(entity)
        .where(entity.client_id == client_id, at >= start, at < end, *criteria)
        .order_by(at, entity.id)
    )
    return list(db.scalars(query))


def weekly_review(db: Session, session_id: int) -> WeeklyReview:
    """Goal, prompts, replies and ratings for the week before `session_id`."""
    session = get_session(db, session_id)
    client_id = session.series.client_id
    previous = previous_session(db, session)
    start = previous.starts_at if previous is not None else session.series.created_at
    end = session.starts_at
    prompts = _in_week(
        db,
        OutboundMessage,
        OutboundMessage.sent_at,
        client_id,
        start,
        end,
        OutboundMessage.kind == "goal_prompt",
    )
    replies = _in_week(
        db,
        InboundMessage,
        InboundMessage.received_at,
        client_id,
        start,
        end,
        InboundMessage.outcome.in_(REPLY_OUTCOMES),
    )
    ratings = _in_week(db, ProgressRating, ProgressRating.received_at, client_id, start, end)
    return WeeklyReview(session, previous, start, prompts, replies, ratings)
