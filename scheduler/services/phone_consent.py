"""Opt-out and opt-in of a phone number: the one place that answers "may we text this number?".

An opt-out belongs to the E.164 number, not to a client record: STOP from a phone (or Twilio's
error 21610 for it) stops texts to every client with that number, including records created
later, until START from that number or a staff re-consent. `phone_consents` keeps the current
state, `phone_consent_events` every change with its source and the text that caused it.

Reads go through `Client.opted_out_at` (derived from this table, in Python and in SQL) or
`opted_out_at` below; writes only through `opt_out` and `opt_in`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db.models import Client, PhoneConsent, PhoneConsentEvent

Source = Literal["sms_keyword", "sms_words", "twilio", "staff", "migration"]
HISTORY_LIMIT = 100


def opted_out_at(db: Session, phone: str) -> datetime | None:
    """When this number opted out; None when texts to it are allowed."""
    return db.scalar(select(PhoneConsent.opted_out_at).where(PhoneConsent.phone == phone))


def may_text(db: Session, phone: str) -> bool:
    """False once the number has opted out (until it opts back in)."""
    return opted_out_at(db, phone) is None


def _locked_state(db: Session, phone: str, at: datetime) -> PhoneConsent:
    """The number's state row, locked; created (opted in) when the number has none yet."""
    row = db.get(PhoneConsent, phone, with_for_update=True, populate_existing=True)
    if row is not None:
        return row
    try:
        # Two first texts from one number at once: one insert wins, the other re-reads it.
        with db.begin_nested():
            row = PhoneConsent(phone=phone, opted_out_at=None, updated_at=at)
            db.add(row)
            db.flush()
        return row
    except IntegrityError:
        row = db.get(PhoneConsent, phone, with_for_update=True, populate_existing=True)
        if row is None:
            raise
        return row


def _record(
    db: Session,
    phone: str,
    event: str,
    *,
    at: datetime,
    source: Source,
    inbound_message_id: int | None,
    recorded_by: str | None,
    note: str | None,
) -> PhoneConsentEvent:
    row = PhoneConsentEvent(
        phone=phone,
        event=event,
        source=source,
        inbound_message_id=inbound_message_id,
        recorded_by=recorded_by,
        note=note,
        at=at,
    )
    db.add(row)
    return row


def _refresh_clients(db: Session, phone: str) -> None:
    """Client objects already loaded in this session read the number's new state."""
    for obj in list(db.identity_map.values()):
        if isinstance(obj, Client) and obj.phone == phone:
            db.expire(obj, Client.NUMBER_STATE)


def opt_out(
    db: Session,
    phone: str,
    *,
    at: datetime,
    source: Source,
    inbound_message_id: int | None = None,
    recorded_by: str | None = None,
    note: str | None = None,
) -> bool:
    """Record an opt-out of the number; True when it was opted in until now.

    A repeated STOP is recorded too: it is a fact worth keeping in the history.
    """
    state = _locked_state(db, phone, at)
    changed = state.opted_out_at is None
    if changed:
        state.opted_out_at = at
        state.updated_at = at
    _record(
        db,
        phone,
        "opt_out",
        at=at,
        source=source,
        inbound_message_id=inbound_message_id,
        recorded_by=recorded_by,
        note=note,
    )
    db.flush()
    _refresh_clients(db, phone)
    return changed


def opt_in(
    db: Session,
    phone: str,
    *,
    at: datetime,
    source: Source,
    inbound_message_id: int | None = None,
    recorded_by: str | None = None,
    note: str | None = None,
) -> bool:
    """Clear the number's opt-out; True (and an event) only when it was opted out."""
    state = db.get(PhoneConsent, phone, with_for_update=True, populate_existing=True)
    if state is None or state.opted_out_at is None:
        return False
    state.opted_out_at = None
    state.updated_at = at
    _record(
        db,
        phone,
        "opt_in",
        at=at,
        source=source,
        inbound_message_id=inbound_message_id,
        recorded_by=recorded_by,
        note=note,
    )
    db.flush()
    _refresh_clients(db, phone)
    return True


def history(db: Session, phone: str, limit: int = HISTORY_LIMIT) -> Sequence[PhoneConsentEvent]:
    """The number's opt-outs and opt-ins, newest first."""
    return db.scalars(_HISTORY, {"phone": phone, "limit": limit}).all()


def history_of(db: Session, client: Client) -> Sequence[PhoneConsentEvent]:
    """`history` of the client's number: no query for a number that never opted out or in
    (it has no state row, `Client.number_has_consent_state`, so it has no events)."""
    if not client.number_has_consent_state:
        return []
    return history(db, client.phone)


# Read with every client shown: built once, so a read skips building it and its cache key.
_HISTORY = (
    select(PhoneConsentEvent)
    .where(PhoneConsentEvent.phone == bindparam("phone"))
    .order_by(PhoneConsentEvent.at.desc(), PhoneConsentEvent.id.desc())
    .limit(bindparam("limit"))
)
