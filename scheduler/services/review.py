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

from sqlalchemy import ColumnElement, and_, inspect, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..db.models import TherapySession
from ..db.models.inbound import InboundMessage, InboxItem, ProgressRating
from ..db.models.messaging import OutboundMessage
from .inbound import RATING_WINDOW
from .session_changes import get_session

# Inbound outcomes that are the client's own words or rating (not STOP, HELP, C, R and such).
REPLY_OUTCOMES = ("inbox", "rating")
_GOAL_PROMPT = OutboundMessage.kind == "goal_prompt"

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
    query = select(entity).where(*_span(entity, at, windows, *criteria)).order_by(at, entity.id)
    return _sorted_into(list(db.scalars(query)), at, windows)


def _span(
    entity: type[_Row],
    at: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    windows: Sequence[_Window],
    *criteria: ColumnElement[bool],
) -> list[ColumnElement[bool]]:
    """The rows of the windows' clients from the earliest start to the latest end."""
    clients = sorted({client for client, _, _ in windows})
    lo = min(start for _, start, _ in windows)
    hi = max(end for _, _, end in windows)
    return [entity.client_id.in_(clients), at >= lo, at < hi, *criteria]


def _sorted_into(
    rows: Sequence[_Row],
    at: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    windows: Sequence[_Window],
) -> list[list[_Row]]:
    """Each window's rows (the client's, `at` in [start, end)), in the order of `rows`."""
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
    previous, windows = _weeks(db, sessions)
    prompts = _in_weeks(db, OutboundMessage, OutboundMessage.sent_at, windows, _GOAL_PROMPT)
    return _reviews(db, sessions, previous, windows, prompts)


def weekly_reviews_and_texts(
    db: Session, reviewed: Sequence[TherapySession], shown: Sequence[int]
) -> tuple[dict[int, WeeklyReview], dict[int, list[OutboundMessage]]]:
    """`weekly_reviews(reviewed)`, and every text of the `shown` sessions, oldest first (what
    `texts.history.messages_for_sessions` answers), for a page that shows both.

    The weeks' goal prompts and the sessions' texts are rows of the same table: one SELECT
    reads both, so the reviews cost one query fewer than on their own."""
    m = OutboundMessage
    previous, windows = _weeks(db, reviewed) if reviewed else ({}, [])
    wanted: list[ColumnElement[bool]] = [m.session_id.in_(list(shown))] if shown else []
    if windows:
        wanted.append(and_(*_span(m, m.sent_at, windows, _GOAL_PROMPT)))
    if not wanted:
        return {}, {}
    rows = list(db.scalars(select(m).where(or_(*wanted)).order_by(m.created_at, m.id)))
    texts: dict[int, list[OutboundMessage]] = defaultdict(list)
    asked = set(shown)
    for row in rows:
        if row.session_id in asked:
            texts[row.session_id].append(row)
    # The prompts as `_in_weeks` reads them: in the order they were sent.
    sent = sorted(
        (r for r in rows if r.kind == "goal_prompt" and r.sent_at is not None),
        key=lambda r: (r.sent_at, r.id),
    )
    prompts = _sorted_into(sent, m.sent_at, windows)
    reviews = _reviews(db, reviewed, previous, windows, prompts) if reviewed else {}
    return reviews, dict(texts)


def _weeks(
    db: Session, sessions: Sequence[TherapySession]
) -> tuple[dict[int, TherapySession | None], list[_Window]]:
    """Each session's previous one and the client's week before it (at most one query)."""
    previous = _previous_sessions(db, sessions)
    windows: list[_Window] = []
    for s in sessions:
        before = previous[s.id]
        start = before.starts_at if before is not None else s.series.created_at
        windows.append((s.series.client_id, start, s.starts_at))
    return previous, windows


def _reviews(
    db: Session,
    sessions: Sequence[TherapySession],
    previous: dict[int, TherapySession | None],
    windows: Sequence[_Window],
    prompts: list[list[OutboundMessage]],
) -> dict[int, WeeklyReview]:
    """The reviews from their weeks' prompts (read already): replies and ratings read here."""
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
