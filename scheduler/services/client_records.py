"""One record per client: finding records that share a phone, and merging two into one.

A new client whose phone is already on file is refused as a possible duplicate unless staff
confirm it (families share phones). Two records of one person are merged by an admin: the
series, texts, consents, inbound texts, inbox items and ratings of the record merged away
move to the record kept; its calendar feed URLs are revoked (the kept record's feed now
shows every session). The merged-away row stays, marked `merged_into_id`, so history and
the audit log keep their meaning, but it answers as not found and matches no phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from ..db.models import (
    Client,
    ConsentEvent,
    FeedToken,
    InboundMessage,
    InboxItem,
    OutboundMessage,
    ProgressRating,
    Series,
)
from . import audit
from .context import ServiceContext
from .errors import Invalid, NotFound, ServiceError


class Duplicate(ServiceError):
    """Clients already on file with the same phone; `existing` lists them (oldest first)."""

    def __init__(self, existing: Sequence[Client]) -> None:
        super().__init__(f"{len(existing)} client(s) already have this phone")
        self.existing = list(existing)


def active_clients() -> Select[tuple[Client]]:
    """Clients that are records in their own right (not merged into another)."""
    return select(Client).where(Client.merged_into_id.is_(None))


def with_phone(
    db: Session, phones: Sequence[str], *, exclude_id: int | None = None
) -> list[Client]:
    """Active clients whose phone is one of `phones` (E.164 forms), oldest first."""
    query = active_clients().where(Client.phone.in_(list(phones))).order_by(Client.id)
    if exclude_id is not None:
        query = query.where(Client.id != exclude_id)
    return list(db.scalars(query))


def check_duplicate(
    db: Session, phone: str, *, confirmed: bool, exclude_id: int | None = None
) -> list[Client]:
    """Raise Duplicate if `phone` is on file, unless confirmed; returns who shares it."""
    sharing = with_phone(db, [phone], exclude_id=exclude_id)
    if sharing and not confirmed:
        raise Duplicate(sharing)
    return sharing


@dataclass(frozen=True)
class MergeResult:
    client: Client
    merged: Client
    moved: dict[str, int] = field(default_factory=dict)
    resolved_items: list[int] = field(default_factory=list)


def _lock(db: Session, client_id: int, field_name: str) -> Client:
    client = db.execute(
        select(Client).where(Client.id == client_id).with_for_update(of=Client)
    ).scalar_one_or_none()
    if client is None or client.merged_into_id is not None:
        raise NotFound("client", client_id, field=field_name)
    return client


def _move(db: Session, model: Any, from_id: int, into_id: int) -> int:
    result = db.execute(
        update(model)
        .where(model.client_id == from_id)
        .values(client_id=into_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def merge(
    db: Session, ctx: ServiceContext, into_id: int, from_id: int, *, actor: str
) -> MergeResult:
    """Merge client `from_id` into `into_id` (audited); the kept record's consents stand,
    an undeliverable mark on the same phone carries over, and the number's opt-out stays."""
    if into_id == from_id:
        raise Invalid({"from_client_id": "is this same client"})
    # Locked in id order, so two merges of the same pair cannot deadlock.
    first, second = sorted((into_id, from_id))
    locked = {
        first: _lock(db, first, "client_id" if first == into_id else "from_client_id"),
        second: _lock(db, second, "client_id" if second == into_id else "from_client_id"),
    }
    into, gone = locked[into_id], locked[from_id]
    now = ctx.clock()
    moved = {
        "series": _move(db, Series, gone.id, into.id),
        "texts": _move(db, OutboundMessage, gone.id, into.id),
        "consent_events": _move(db, ConsentEvent, gone.id, into.id),
        "inbound_messages": _move(db, InboundMessage, gone.id, into.id),
        "inbox_items": _move(db, InboxItem, gone.id, into.id),
        "ratings": _move(db, ProgressRating, gone.id, into.id),
    }
    revoked = db.execute(
        update(FeedToken)
        .where(
            FeedToken.owner_kind == "client",
            FeedToken.owner_id == str(gone.id),
            FeedToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    moved["feed_tokens_revoked"] = int(getattr(revoked, "rowcount", 0) or 0)
    # An opt-out needs no carrying: it belongs to the number, which both records keep
    # honouring (services.phone_consent), whichever record survives.
    carried = _carry_phone_state(into, gone)
    gone.merged_into_id, gone.merged_at = into.id, now
    db.flush()
    resolved = _resolve_shared_phone_items(db, into, actor)
    db.refresh(into, ["consent_events"])
    # The moved series' texts now follow the kept record's consents, zone and phone.
    ctx.texts.replan_client(db, ctx, into.id)
    audit.record(
        db,
        actor=actor,
        action="client.merged",
        entity="client",
        entity_id=into.id,
        from_client_id=gone.id,
        carried=carried,
        resolved_inbox_items=resolved,
        **moved,
    )
    audit.record(
        db,
        actor=actor,
        action="client.merged_away",
        entity="client",
        entity_id=gone.id,
        into_client_id=into.id,
    )
    return MergeResult(into, gone, moved, resolved)


def _carry_phone_state(into: Client, gone: Client) -> list[str]:
    """A dead number belongs to the phone: keep honouring it on the kept record."""
    carried: list[str] = []
    if gone.phone != into.phone:
        return carried
    if gone.phone_undeliverable_at is not None and into.phone_undeliverable_at is None:
        into.phone_undeliverable_at = gone.phone_undeliverable_at
        into.phone_undeliverable_reason = gone.phone_undeliverable_reason
        carried.append("phone_undeliverable")
    return carried


def _resolve_shared_phone_items(db: Session, into: Client, actor: str) -> list[int]:
    """Open "ambiguous sender" items from this phone now have one sender: the kept record."""
    if len(with_phone(db, [into.phone])) != 1:
        return []  # still shared (a family): the desk keeps choosing
    items = db.execute(
        select(InboxItem, InboundMessage)
        .join(InboundMessage, InboundMessage.id == InboxItem.inbound_message_id)
        .where(
            InboxItem.kind == "ambiguous_sender",
            InboxItem.status == "open",
            InboxItem.client_id.is_(None),
            InboundMessage.from_number == into.phone,
        )
    ).all()
    for item, message in items:
        item.client_id = into.id
        message.client_id = into.id
        item.note = (item.note + "\n" if item.note else "") + (
            "Sender identified: the records sharing this phone were merged."
        )
    return [item.id for item, _ in items]
