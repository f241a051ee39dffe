"""The inbox as a desk reads it: threads, per-user read markers and unread counts per office.

A thread is the exchange between one client and one office's number, oldest first: what the
client texted, the automatic answers, and what we sent (reminders, notices and staff replies).
For a number no client has, it is what that number texted the office. Goal prompts and 1-5
ratings are clinical: only readers allowed clinical content see their words.

An item is unread for a user until that user opens it; counts are of open items, per office.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..db.models import InboundMessage, InboxItem, InboxRead, OutboundMessage
from .inbound import RATING_WINDOW

THREAD_LIMIT = 100
# Texts of ours that reached (or tried to reach) the phone; planned ones are not history yet.
SHOWN_STATUSES = ("sending", "sent", "delivered", "failed")
CLINICAL_KINDS = ("goal_prompt",)
# Keywords that are instructions, never an answer to a goal prompt (ratings are clinical anyway).
COMMANDS = ("stop", "help", "confirm", "reschedule", "rating")
WITHHELD = "(content for the treating therapist)"


@dataclass(frozen=True)
class ThreadEntry:
    direction: str  # "in" (from the client) | "out" (from the office's number)
    at: datetime
    body: str
    kind: str  # inbound keyword, or the outbound message kind ("auto_reply" for answers)
    status: str | None = None
    message_id: int | None = None
    automatic: bool = False

    def as_json(self, zone: Any) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "at": self.at.astimezone(zone).isoformat() if zone else self.at.isoformat(),
            "body": self.body,
            "kind": self.kind,
            "status": self.status,
            "message_id": self.message_id,
            "automatic": self.automatic,
        }


def thread(
    db: Session, item: InboxItem, *, include_clinical: bool, limit: int = THREAD_LIMIT
) -> list[ThreadEntry]:
    """The exchange this item belongs to, oldest first (the newest `limit` entries)."""
    return threads(db, [item], clinical={item.id: include_clinical}, limit=limit)[item.id]


_Key = tuple[str, object, object]


def _thread_key(item: InboxItem) -> _Key | None:
    """Which exchange an item shows: its client's with its office, or its sender's number's."""
    if item.office_id is None and item.inbound_message_id is None:
        return None
    if item.client_id is not None:
        return ("client", item.client_id, item.office_id)
    if item.inbound_message is not None:
        return ("number", item.inbound_message.from_number, item.inbound_message.to_number)
    return None


def threads(
    db: Session,
    items: Sequence[InboxItem],
    *,
    clinical: Mapping[int, bool],
    limit: int = THREAD_LIMIT,
) -> dict[int, list[ThreadEntry]]:
    """Each item's thread (see `thread`), in at most three queries however many items are
    shown; `clinical[item.id]` says whether its reader sees clinical words."""
    keys = {i.id: _thread_key(i) for i in items}
    wanted = {k for k in keys.values() if k is not None}
    if not wanted:
        return {i.id: [] for i in items}
    received: dict[_Key, list[InboundMessage]] = {k: [] for k in wanted}
    m = InboundMessage
    by_key = [
        and_(m.client_id == a, m.office_id == b) if kind == "client" else
        and_(m.from_number == a, m.to_number == b)
        for kind, a, b in wanted
    ]  # fmt: skip
    # Newest first, kept up to `limit` per thread here: an exchange between one client and one
    # office is a few hundred texts at most, so reading them all costs less than a query each.
    query = select(m).where(or_(*by_key)).order_by(m.received_at.desc(), m.id.desc())
    for message in db.scalars(query):
        mine: tuple[_Key, ...] = (
            ("client", message.client_id, message.office_id),
            ("number", message.from_number, message.to_number),
        )
        for key in mine:
            if key in received and len(received[key]) < limit:
                received[key].append(message)
    withheld_for = [k for i, k in keys.items() if k is not None and not clinical[i]]
    answers = _goal_answers(db, [x for k in set(withheld_for) for x in received[k]])
    sent = _sent(db, [k for k in wanted if k[0] == "client" and k[2] is not None], limit)
    out: dict[int, list[ThreadEntry]] = {}
    for item in items:
        found = keys[item.id]
        out[item.id] = [] if found is None else _entries(
            received[found], sent.get(found, []), clinical[item.id], answers, limit
        )  # fmt: skip
    return out


def _sent(db: Session, keys: Sequence[_Key], limit: int) -> dict[_Key, list[OutboundMessage]]:
    """Our texts to each (client, office) of `keys`, newest first, at most `limit` each."""
    if not keys:
        return {}
    o = OutboundMessage
    shown = or_(
        o.status.in_(SHOWN_STATUSES),
        and_(o.kind == "reply", o.status.in_(("pending", "suppressed"))),
    )
    pairs = or_(*(and_(o.client_id == c, o.office_id == office) for _, c, office in keys))
    found: dict[_Key, list[OutboundMessage]] = {k: [] for k in keys}
    for row in db.scalars(
        select(o)
        .where(pairs, shown)
        .order_by(func.coalesce(o.sent_at, o.send_at, o.created_at).desc(), o.id.desc())
    ):
        key = ("client", row.client_id, row.office_id)
        if len(found[key]) < limit:
            found[key].append(row)
    return found


def _entries(
    received: Sequence[InboundMessage],
    sent: Sequence[OutboundMessage],
    include_clinical: bool,
    answers: set[int],
    limit: int,
) -> list[ThreadEntry]:
    entries: list[ThreadEntry] = []
    for m in received:
        clinical = (m.keyword == "rating" and m.outcome == "rating") or m.id in answers
        body = WITHHELD if clinical and not include_clinical else m.body
        entries.append(ThreadEntry("in", m.received_at, body, m.keyword, message_id=m.id))
        if m.reply_body:
            entries.append(
                ThreadEntry("out", m.received_at, m.reply_body, "auto_reply", automatic=True)
            )
    for out in sent:
        at = out.sent_at or out.send_at or out.created_at
        body = out.body or ""
        if out.kind in CLINICAL_KINDS and not include_clinical:
            body = WITHHELD
        entries.append(ThreadEntry("out", at, body, out.kind, out.status, out.id))
    # Inbound first when times tie: an automatic answer follows the text it answers.
    entries.sort(key=lambda e: (e.at, e.direction == "out"))
    return entries[-limit:]


def _goal_answers(db: Session, received: Sequence[InboundMessage]) -> set[int]:
    """Texts that answer a weekly goal prompt: free text within RATING_WINDOW after a prompt
    went to that client (the rule the pipeline and `review.goal_replies` use). One query."""
    free = [m for m in received if m.client_id is not None and m.keyword not in COMMANDS]
    if not free:
        return set()
    sent_at = OutboundMessage.sent_at
    prompts: dict[int, list[datetime]] = {}
    for client_id, at in db.execute(
        select(OutboundMessage.client_id, sent_at).where(
            OutboundMessage.client_id.in_({m.client_id for m in free}),
            OutboundMessage.kind == "goal_prompt",
            OutboundMessage.status.in_(("sent", "delivered")),
            sent_at > min(m.received_at for m in free) - RATING_WINDOW,
            sent_at <= max(m.received_at for m in free),
        )
    ):
        prompts.setdefault(client_id, []).append(at)
    return {
        m.id
        for m in free
        if any(
            m.received_at - RATING_WINDOW < at <= m.received_at
            for at in prompts.get(m.client_id or 0, ())
        )
    }


def mark_read(db: Session, user_id: int, item_id: int, at: datetime) -> None:
    """Record that the user opened the item (once; later opens change nothing)."""
    mark_all_read(db, user_id, [item_id], at)


def mark_all_read(db: Session, user_id: int, item_ids: Sequence[int], at: datetime) -> set[int]:
    """Record that the user opened these items, in one INSERT (a page shows many); returns
    the ones marked just now, i.e. those that were unread until this call."""
    if not item_ids:
        return set()
    dialect = db.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [{"user_id": user_id, "item_id": i, "read_at": at} for i in sorted(item_ids)]
    marked = db.scalars(
        insert(InboxRead)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["user_id", "item_id"])
        .returning(InboxRead.item_id)
    )
    return set(marked)


def read_ids(db: Session, user_id: int, item_ids: Sequence[int]) -> set[int]:
    """Which of `item_ids` the user has opened."""
    if not item_ids:
        return set()
    return set(
        db.scalars(
            select(InboxRead.item_id).where(
                InboxRead.user_id == user_id, InboxRead.item_id.in_(list(item_ids))
            )
        )
    )


def unread_counts(
    db: Session, user_id: int, *, where: ColumnElement[bool], office_id: str | None = None
) -> dict[str | None, int]:
    """Open items the user has not opened, per office (None: the admins' unrouted pile).

    `where` is the reader's reach over inbox items (`access.inbox_filter`); `office_id` narrows
    the count to one office."""
    query = unread_counts_query(user_id, where=where, office_id=office_id)
    return {found: int(n) for found, n in db.execute(query)}


def unread_counts_query(
    user_id: int, *, where: ColumnElement[bool], office_id: str | None = None
) -> Select[tuple[str | None, int]]:
    """`unread_counts` as a statement: rows (office id, count), for a caller that adds to it."""
    query = (
        select(InboxItem.office_id, func.count())
        .outerjoin(InboxRead, and_(InboxRead.item_id == InboxItem.id, InboxRead.user_id == user_id))
        .where(where, InboxItem.status == "open", InboxRead.item_id.is_(None))
        .group_by(InboxItem.office_id)
    )
    if office_id is not None:
        query = query.where(InboxItem.office_id == office_id)
    return query
