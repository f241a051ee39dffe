"""Texts whose fate we do not know, resolved by asking the provider before any resend.

A row stays "sending" when the reply to a send was lost (timeout, unreadable answer: the
dispatcher then clears `claimed_by` and sets `next_attempt_at` as the earliest time to ask)
or when its dispatcher died after claiming it (its claim grows older than the claim
timeout). For each, we list the messages the provider holds for that number since shortly
before the claim and look for the exact body: found means sent (we record its SID); not
found means it never left, and it is due again.

`claimed_at` is when this attempt was claimed, so no message of it can be older: it anchors
the window the provider is asked about and is never moved. When the provider cannot answer,
the row is left unclaimed with `next_attempt_at` as the time to ask again; however long the
provider's list stays down, the next question still covers the send.

Housekeeping: pending texts whose useful life has ended are marked so the front desk sees
why they never went.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ..config import Settings
from ..db.models import OutboundMessage
from ..db.types import utcnow
from ..sms.gateway import SentRecord, SmsError, SmsGateway
from . import links
from .record import DUPLICATE_SID_REASON, duplicate_sid_error, note_duplicate_sid

log = logging.getLogger(__name__)
_M = OutboundMessage
# How far before the claim to look: allows for clock skew between us and the provider.
LIST_MARGIN = timedelta(minutes=5)
RECONCILE_BATCH = 20


@dataclass
class ReconcileStats:
    found_sent: int = 0
    requeued: int = 0
    still_unknown: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def reconcile(
    db: Session,
    gateway: SmsGateway,
    *,
    claim_timeout: timedelta,
    worker: str,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> ReconcileStats:
    """Settle up to one batch of texts stuck in "sending"; call it inside a transaction.

    `settings` word the questionnaire links in stored bodies (texts.links) as they were sent;
    without them a body is compared as stored.
    """
    now = now or utcnow()
    stats = ReconcileStats()
    rows = (
        db.execute(
            select(_M)
            .where(
                _M.status == "sending",
                or_(
                    # Nobody's (a lost reply, or asked before): due to be asked again.
                    and_(
                        _M.claimed_by.is_(None),
                        or_(_M.next_attempt_at.is_(None), _M.next_attempt_at <= now),
                    ),
                    # A dispatcher's claim that outlived the claim timeout: it died.
                    and_(_M.claimed_by.is_not(None), _M.claimed_at < now - claim_timeout),
                ),
            )
            .order_by(_M.claimed_at, _M.id)
            .limit(RECONCILE_BATCH)
            # Another reconciler (or a dispatcher still sending it) holds it: skip.
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for row in rows:
        if not row.to_number or not row.body or row.claimed_at is None:
            _requeue(row, now, "claimed but never rendered")
            stats.requeued += 1
            continue
        try:
            records = gateway.list_sent(to=row.to_number, since=row.claimed_at - LIST_MARGIN)
        except SmsError as exc:
            # The provider cannot tell us now (429, 5xx, unreachable): nothing is resent
            # while we do not know. This row is asked about again after another claim
            # timeout; the rest of the batch is left for the next run, not hammered.
            # `claimed_at` stays: it bounds the window to ask about, and moving it past the
            # send would make a later answer miss the text and send it twice.
            # Code and status only: a provider's message can quote the number.
            log.warning(
                "cannot reconcile message %s yet (code %s, HTTP %s)", row.id, exc.code, exc.status
            )
            row.claimed_by = None
            row.next_attempt_at = now + claim_timeout
            row.updated_at = now
            stats.still_unknown += 1
            break
        sent_body = links.expand(row.body, settings) if settings is not None else row.body
        match, duplicate_of = _find(db, row, records, sent_body)
        if match is not None:
            row.status = "sent"
            row.provider_sid = None if duplicate_of else match.sid
            row.provider_status = match.status or "queued"
            row.sent_at = match.date_created or now
            row.error = None
            if duplicate_of is not None:
                row.reason = DUPLICATE_SID_REASON
                row.error = duplicate_sid_error(match.sid, duplicate_of)
                note_duplicate_sid(db, row.id, match.sid, duplicate_of)
            row.claimed_by = worker
            row.updated_at = now
            stats.found_sent += 1
        else:
            _requeue(row, now, "not found at the provider; sending again")
            stats.requeued += 1
    return stats


def _find(
    db: Session, row: OutboundMessage, records: list[SentRecord], sent_body: str
) -> tuple[SentRecord | None, int | None]:
    """The provider's record of this text, and the row already holding its SID, if any.

    `sent_body` is the body as it went out (a questionnaire link expanded). A provider message
    with it whose SID another row holds for the same number and stored body is that row's
    (two equal texts, one sent); one whose SID a different text holds is ours under a repeated
    SID. A message under the SID this row already holds is an earlier attempt's, not this one.
    """
    # A SID the row already holds is an earlier attempt's (sent, then reported undelivered
    # and tried again): that message is not this attempt's.
    candidates = [r for r in records if r.body == sent_body and r.sid != row.provider_sid]
    if not candidates:
        return None, None
    holders = {
        sid: (holder_id, to, body)
        for sid, holder_id, to, body in db.execute(
            select(_M.provider_sid, _M.id, _M.to_number, _M.body).where(
                _M.provider_sid.in_([r.sid for r in candidates]), _M.id != row.id
            )
        )
    }
    repeated: tuple[SentRecord, int] | None = None
    for record in candidates:
        holder = holders.get(record.sid)
        if holder is None:
            return record, None
        holder_id, to, body = holder
        if (to, body) != (row.to_number, row.body) and repeated is None:
            repeated = (record, holder_id)
    if repeated is not None:
        return repeated
    return None, None


def _requeue(row: OutboundMessage, now: datetime, note: str) -> None:
    row.status = "pending"
    row.claimed_by = None
    row.next_attempt_at = None
    row.error = note
    row.updated_at = now


def expire_pending(db: Session, now: datetime) -> int:
    """Mark pending texts whose useful life has ended; returns how many."""
    result = db.execute(
        update(_M)
        .where(_M.status == "pending", _M.expires_at.is_not(None), _M.expires_at <= now)
        .values(status="suppressed", reason="expired before it could be sent", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
