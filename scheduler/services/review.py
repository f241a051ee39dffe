"""The weekly review a therapist reads before a session: last week's goal and the client's answers.

The week under review runs from the previous held (not cancelled) session of the same series up
to this session. Prompts and replies are found by time within that week rather than by their
session link, so a prompt planned against a session that was later moved still shows up.

All of it is clinical (see `services.access`): the treating therapist's and admins' only. A text
that answers a goal prompt also lands in the office's inbox; `goal_replies` tells which inbox
items those are, so the front desk is shown that the client replied but not the words.
"""

from __future__ import annotations

from collections import defaultdict
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
        return _latest_before(session, session.series.sessions)
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


def _latest_before(
    session: TherapySession, siblings: Sequence[TherapySession]
) -> TherapySession | None:
    earlier = [s for s in siblings if s.starts_at < session.starts_at and s.status != "cancelled"]
    return max(earlier, key=lambda s: s.starts_at, default=None)


def _previous_sessions(
    db: Session, sessions: Sequence[TherapySession]
) -> dict[int, TherapySession | None]:
    """`previous_session` of each, in at most one query (none when their series' sessions are
    loaded already)."""
    unloaded = {s.series_id for s in sessions if "sessions" in inspect(s.series).unloaded}
    siblings: dict[int, list[TherapySession]] = defaultdict(list)
    if unloaded:
        query = select(TherapySession).where(TherapySession.series_id.in_(sorted(unloaded)))
        for found in db.scalars(query):
            siblings[found.series_id].append(found)
    return {
        s.id: _latest_before(
            s, siblings[s.series_id] if s.series_id in unloaded else s.series.sessions
        )
        for s in sessions
    }


_Window = tuple[int, datetime, datetime]  # a client's [start, end)


def _in_weeks(
    db: Session,
    entity: type[_Row],
    at: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    windows: Sequence[_Window],
    *criteria: ColumnElement[bool],
) -> list[list[_Row]]:
    """For each window, the client's rows of `entity` whose `at` falls in [start, end), in time
    order: one query over the span of all the windows, sorted out here."""
    if not windows:
        return []
    clients = sorted({client for client, _, _ in windows})
    lo = min(start for _, start, _ in windows)
    hi = max(end for _, _, end in windows)
    query = (
        select(entity)
        .where(entity.client_id.in_(clients), at >= lo, at < hi, *criteria)
        .order_by(at, entity.id)
    )
    rows = list(db.scalars(query))
    out: list[list[_Row]] = []
    for client, start, end in windows:
        inside = []
        for row in rows:
            when = getattr(row, at.key)
            if row.client_id == client and when is not None and start <= when < end:
                inside.append(row)
        out.append(inside)
    return out


def weekly_review(db: Session, session_id: int | TherapySession) -> WeeklyReview:
    """Goal, prompts, replies and ratings for the week before `session_id` (or the session
    itself, when the caller has read it already: no second SELECT of it)."""
    session = session_id if isinstance(session_id, TherapySession) else get_session(db, session_id)
    return weekly_reviews(db, [session])[session.id]


def weekly_reviews(db: Session, sessions: Sequence[TherapySession]) -> dict[int, WeeklyReview]:
    """`weekly_review` of each session, in four queries at most whatever their number."""
    if not sessions:
        return {}
    previous = _previous_sessions(db, sessions)
    windows: list[_Window] = []
    for s in sessions:
        before = previous[s.id]
        start = before.starts_at if before is not None else s.series.created_at
        windows.append((s.series.client_id, start, s.starts_at))
    prompts = _in_weeks(
        db,
        OutboundMessage,
        OutboundMessage.sent_at,
        windows,
        OutboundMessage.kind == "goal_prompt",
    )
    replies = _in_weeks(
        db,
        InboundMessage,
        InboundMessage.received_at,
        windows,
        InboundMessage.outcome.in_(REPLY_OUTCOMES),
    )
    ratings = _in_weeks(db, ProgressRating, ProgressRating.received_at, windows)
    return {
        s.id: WeeklyReview(s, previous[s.id], window[1], prompts[i], replies[i], ratings[i])
        for i, (s, window) in enumerate(zip(sessions, windows, strict=True))
    }


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
