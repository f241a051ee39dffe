"""Each office's inbox: texts and problems that need a person, resolved with a note, audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload

from ..db.models import Client, TherapySession
from ..db.models.inbound import INBOX_KINDS, InboxItem
from . import audit
from .errors import Invalid, NotFound

InboxStatus = Literal["open", "resolved"]
MAX_LIST = 500


def open_item(
    db: Session,
    *,
    office_id: str | None,
    kind: str,
    summary: str,
    at: datetime,
    client_id: int | None = None,
    session_id: int | None = None,
    inbound_message_id: int | None = None,
    series_id: int | None = None,
    admins_only: bool = False,
    urgent: bool = False,
) -> InboxItem:
    """Put one item in an office's inbox (office None: the admins' unrouted pile).

    `admins_only` items (clinical ones) sit with the office but only admins see them;
    `urgent` ones (a possible opt-out) are listed first.
    """
    if kind not in INBOX_KINDS:
        raise ValueError(f"unknown inbox kind {kind!r}")
    item = InboxItem(
        office_id=office_id,
        kind=kind,
        status="open",
        summary=summary,
        client_id=client_id,
        session_id=session_id,
        series_id=series_id,
        admins_only=admins_only,
        urgent=urgent,
        inbound_message_id=inbound_message_id,
        created_at=at,
    )
    db.add(item)
    db.flush()
    return item


def report_undeliverable_phone(
    db: Session, client: Client, reason: str, *, at: datetime, office_id: str | None = None
) -> InboxItem:
    """Ask the front desk to fix a phone texts cannot reach; one open item per client.

    For the dispatcher (Twilio 21211/21614/30004-30006): repeated failures must not flood the inbox.
    """
    return _one_open_item(
        db,
        client,
        "undeliverable_phone",
        f"Texts to this client's phone cannot be delivered: {reason}",
        at=at,
        office_id=office_id,
    )


def report_failed_text(db: Session, client: Client, reason: str, *, at: datetime) -> InboxItem:
    """Tell the front desk a text did not reach the client (30003 after retries, 30007, 30008).

    The number stays in use (the next text may well arrive), but someone should know this
    one did not; one open item per client, however many texts fail the same way.
    """
    return _one_open_item(
        db, client, "text_failed", f"A text did not reach this client: {reason}", at=at
    )


def _one_open_item(
    db: Session,
    client: Client,
    kind: str,
    summary: str,
    *,
    at: datetime,
    office_id: str | None = None,
) -> InboxItem:
    existing = db.scalar(
        select(InboxItem).where(
            InboxItem.client_id == client.id,
            InboxItem.kind == kind,
            InboxItem.status == "open",
        )
    )
    if existing is not None:
        return existing
    return open_item(
        db,
        office_id=office_id or client.home_office_id,
        kind=kind,
        summary=summary,
        at=at,
        client_id=client.id,
    )


def list_items(
    db: Session,
    *,
    office_ids: Sequence[str] | None,
    include_unrouted: bool,
    status: InboxStatus | None,
    where: ColumnElement[bool] | None = None,
    limit: int = MAX_LIST,
    viewed_by: str | None = None,
) -> list[InboxItem]:
    """Items of the given offices (None: every office), oldest open first.

    `where` narrows further; the edges pass the reader's reach (`services.access`).
    `viewed_by`: the read records that user's view of each item (`audit.listed_and_recorded`),
    for the request to commit.
    """
    query = select(InboxItem).options(
        joinedload(InboxItem.client),
        joinedload(InboxItem.inbound_message),
        joinedload(InboxItem.session).joinedload(TherapySession.series),
    )
    places = []
    if office_ids is None:
        places.append(InboxItem.office_id.is_not(None))
    elif office_ids:
        places.append(InboxItem.office_id.in_(list(office_ids)))
    if include_unrouted:
        places.append(InboxItem.office_id.is_(None))
    if not places:
        return []
    query = query.where(or_(*places))
    if where is not None:
        query = query.where(where)
    if status is not None:
        query = query.where(InboxItem.status == status)
    # Urgent items (a possible opt-out) first, then oldest first.
    # A complete order (id last): a recording read lists and records the same items.
    query = query.order_by(InboxItem.urgent.desc(), InboxItem.created_at, InboxItem.id).limit(limit)
    if viewed_by is None:
        return list(db.scalars(query).unique())
    return audit.listed_and_recorded(db, query, InboxItem, "inbox_item", viewed_by)


def get_item(db: Session, item_id: int) -> InboxItem:
    item = db.get(InboxItem, item_id)
    if item is None:
        raise NotFound("inbox item", item_id)
    return item


def update_item(
    db: Session,
    item_id: int,
    *,
    status: InboxStatus | None,
    note: str | None,
    actor: str,
    at: datetime,
) -> InboxItem:
    """Resolve, reopen or annotate an item. Resolving keeps who and when; reopening clears it."""
    if status is None and note is None:
        raise Invalid({"body": "give status and/or note"})
    item = get_item(db, item_id)
    changes: dict[str, Any] = {}
    if status is not None and status != item.status:
        changes["status"] = [item.status, status]
        item.status = status
        if status == "resolved":
            item.resolved_at, item.resolved_by = at, actor
        else:
            item.resolved_at, item.resolved_by = None, None
    if note is not None and note != item.note:
        changes["note"] = note
        item.note = note
    if changes:
        audit.record(
            db,
            actor=actor,
            action="inbox.updated",
            entity="inbox_item",
            entity_id=item.id,
            office_id=item.office_id,
            kind=item.kind,
            **changes,
        )
    db.flush()
    return item
