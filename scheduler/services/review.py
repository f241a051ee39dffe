"""The weekly review a therapist reads before a session: last week's goal and the client's answers.

The week under review runs from the previous held (not cancelled) session of the same series up
to this session. Prompts and replies are found by time within that week rather than by their
session link, so a prompt planned against a session that was later moved still shows up.

All of it is clinical (see `services.access`): the treating therapist's and admins' only. A text
that answers a goal prompt also lands in the office's inbox; `goal_replies` tells which inbox
items those are, so the front desk is shown that the client replied but not the words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, inspect, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..db.models import TherapySession
from ..db.models.inbound import InboundMessage, InboxItem, ProgressRating
from ..db.models.messaging import OutboundMessage
from .inbound import RATING_WINDOW
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
    if "sessions" not in inspect(session.series).unloaded:  # the caller loaded them: no query
        earlier = [
            s
            for s in session.series.sessions
            if s.starts_at < session.starts_at and s.status != "cancelled"
        ]
        return max(earlier, key=lambda s: s.starts_at, default=None)
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


def weekly_review(db: Session, session_id: int | TherapySession) -> WeeklyReview:
    """Goal, prompts, replies and ratings for the week before `session_id` (or the session
    itself, when the caller has read it already: no second SELECT of it)."""
    session = session_id if isinstance(session_id, TherapySession) else get_session(db, session_id)
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


def goal_replies(db: Session, items: Sequence[InboxItem]) -> set[int]:
    """The ids of the inbox items whose text answers a weekly goal prompt.

    The same rule the inbound pipeline uses to link a reply to that week's prompt: a client's
    free text that arrived within RATING_WINDOW after a goal prompt was sent to them. One query
    for any number of items.
    """
    candidates = [
        i
        for i in items
        if i.kind == "free_text" and i.client_id is not None and i.inbound_message is not None
    ]
    if not candidates:
        return set()
    received = {i.id: i.inbound_message.received_at for i in candidates if i.inbound_message}
    sent_at = OutboundMessage.sent_at
    rows = db.execute(
        select(OutboundMessage.client_id, sent_at).where(
            OutboundMessage.client_id.in_({i.client_id for i in candidates}),
            OutboundMessage.kind == "goal_prompt",
            OutboundMessage.status.in_(("sent", "delivered")),
            sent_at > min(received.values()) - RATING_WINDOW,
            sent_at <= max(received.values()),
        )
    ).all()
    prompts: dict[int, list[datetime]] = {}
    for client_id, at in rows:
        prompts.setdefault(client_id, []).append(at)
    return {
        i.id
        for i in candidates
        if any(
            received[i.id] - RATING_WINDOW < at <= received[i.id]
            for at in prompts.get(i.client_id or 0, [])
        )
    }
