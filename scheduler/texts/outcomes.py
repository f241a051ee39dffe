"""What a send attempt or a delivery report means for the message row and for the client.

Every way Twilio can fail, and what follows (the gateway, `scheduler.sms.twilio`, turns each
into `SmsError` or `SmsOutcomeUnknown`; `scheduler.sms.gateway.TWILIO_ERRORS` names the codes):

    failure                          the text                          the client / the desk
    429 / 20429 (+ Retry-After)      pending, retried after Retry-After the sender's clock in
                                     (at least the backoff)            sms_senders moves past it
    5xx answer to a send             sending, unclaimed: reconcile asks
    read timeout, reset mid-request  the provider before any resend
    connection refused               pending, retried with backoff     (known not sent)
    list page 429/5xx/unreadable     reconcile leaves the row, asks    due texts still go out
                                     again after another claim timeout
    21610                            failed                            opted out, pending texts
                                                                       suppressed
    21211, 21614, 30004-30006        failed                            number marked undeliverable,
                                                                       pending suppressed, inbox
    30003, 30008 (delivery report)   pending again, at most 3 tries;   inbox item when given up
                                     then failed
    30007 (carrier filtered)         failed                            inbox item
    other 4xx                        failed
    duplicate provider SID           sent, SID left to the first row,  audit row, log line
                                     flagged (`record`)
    reports out of order             statuses only move forward: delivered never goes back to
                                     sent, and a failure reported after delivery is ignored

"Retried" means at most MAX_ATTEMPTS tries, and never past the text's expiry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..db.models import Client, OutboundMessage
from ..db.types import utcnow
from ..services import audit, phone_consent
from ..services.inbox import report_failed_text, report_undeliverable_phone
from ..sms.gateway import SmsError, describe_twilio_error
from .observer import suppress_pending_for_client
from .updates import MESSAGES, updates_by_name

MAX_ATTEMPTS = 6  # transient failures (rate limits, 5xx, timeouts before sending)
MAX_UNREACHABLE_ATTEMPTS = 3  # 30003: the handset is off or out of coverage
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=30)

# What a refusal means beyond the one text: "attention" only tells the desk.
ClientEffect = Literal["opted_out", "undeliverable", "attention"]
# Twilio's message statuses in the order they can only move forward.
PROVIDER_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "receiving": 2,
    "received": 3,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,
}


@dataclass(frozen=True)
class Failure:
    """A refusal to record: new row values, and what it means for the client, if anything."""

    values: dict[str, Any]
    effect: ClientEffect | None = None


def backoff(attempts: int) -> timedelta:
    """Exponential with jitter, so a burst of retries does not come back as one burst."""
    delay = min(BACKOFF_MAX, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.8, 1.2)


def failure(
    error: SmsError, *, attempts: int, expires_at: datetime | None, now: datetime
) -> Failure:
    """The row's fate after the provider refused it."""
    kind = error.kind
    base: dict[str, Any] = {"error_code": error.code, "error": error.message[:500]}
    if kind == "opted_out":
        return Failure({**base, "status": "failed"}, "opted_out")
    if kind == "undeliverable":
        return Failure({**base, "status": "failed"}, "undeliverable")
    if kind == "attention":
        return Failure({**base, "status": "failed"}, "attention")
    limit = MAX_UNREACHABLE_ATTEMPTS if kind == "retry_limited" else MAX_ATTEMPTS
    retryable = kind == "retry_limited" or error.retryable
    wait = backoff(attempts)
    if error.retry_after is not None:
        wait = max(wait, timedelta(seconds=error.retry_after))
    later = now + wait
    if retryable and attempts < limit and (expires_at is None or later < expires_at):
        return Failure({**base, "status": "pending", "next_attempt_at": later})
    # Given up on a text the carrier could not deliver: a person should know.
    return Failure({**base, "status": "failed"}, "attention" if kind == "retry_limited" else None)


def apply_effect(
    db: Session, client_id: int, effect: ClientEffect, *, code: int | None, error: str
) -> None:
    """Record on the client what the provider told us, and stop what would fail the same way."""
    client = db.get(Client, client_id, with_for_update=True)
    if client is None:
        return
    now = utcnow()
    if effect == "opted_out":
        # Twilio's block is on the number: every record with it stops, and so do new ones.
        if phone_consent.may_text(db, client.phone):
            phone_consent.opt_out(
                db,
                client.phone,
                at=now,
                source="twilio",
                recorded_by="twilio",
                note=f"Twilio error {code}: the number has opted out",
            )
        sharing = select(Client.id).where(Client.phone == client.phone)
        for other_id in db.scalars(sharing):
            suppress_pending_for_client(db, other_id, "client opted out")
    elif effect == "attention":
        report_failed_text(db, client, describe_twilio_error(code), at=now)
    else:
        if client.phone_undeliverable_at is None:
            client.phone_undeliverable_at = now
            client.phone_undeliverable_reason = describe_twilio_error(code)[:200]
        # The desk has to fix the number; the inbox is where they look (one open item a client).
        report_undeliverable_phone(db, client, client.phone_undeliverable_reason or "", at=now)
        suppress_pending_for_client(db, client_id, "phone number undeliverable")
    audit.record(
        db,
        actor="twilio",
        action=f"client.{effect}",
        entity="client",
        entity_id=client_id,
        error_code=code,
    )


def apply_status(
    db: Session, *, sid: str, status: str, error_code: int | None, error: str | None = None
) -> str:
    """Apply a delivery report; statuses only move forward. Returns what was done."""
    status = status.strip().lower()
    if status not in PROVIDER_RANK:
        return "unknown status"
    row = db.execute(
        select(OutboundMessage).where(OutboundMessage.provider_sid == sid).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        return "unknown message"
    if PROVIDER_RANK[status] <= PROVIDER_RANK.get(row.provider_status or "", -1):
        return "ignored: not newer"
    if row.status not in ("sent", "delivered"):
        return "ignored: message is " + row.status
    now = utcnow()
    row.provider_status = status
    row.updated_at = now
    if status == "delivered":
        row.status = "delivered"
        return "delivered"
    if status not in ("undelivered", "failed"):
        return "recorded"
    text = error or f"Twilio reported {status}"
    # Only 30003 (unreachable) is worth another attempt once the carrier has given up.
    outcome = failure(
        SmsError(text, code=error_code, status=None, retryable=False),
        attempts=row.attempts,
        expires_at=row.expires_at,
        now=now,
    )
    for key, value in outcome.values.items():
        setattr(row, key, value)
    if row.status == "pending":
        row.claimed_by = None  # a fresh attempt; the new send records its own SID
    if outcome.effect is not None:
        apply_effect(db, row.client_id, outcome.effect, code=error_code, error=text)
    return row.status


# The dispatcher's batched UPDATE for one kind of outcome (`updates.NamedUpdates`).
record_update = updates_by_name(
    {
        "sent": {
            "status": "sent",
            "provider_sid": bindparam("b_sid"),
            "provider_status": bindparam("b_pstatus"),
            "sent_at": bindparam("b_now"),
            "error": None,
            "error_code": None,
        },
        "refused": {
            "status": bindparam("b_status"),
            "next_attempt_at": bindparam("b_next"),
            "error_code": bindparam("b_code"),
            "error": bindparam("b_error"),
            "claimed_by": None,
        },
        # Still "sending", but nobody's: reconciliation asks the provider after a grace.
        "unknown": {
            "claimed_by": None,
            "next_attempt_at": bindparam("b_next"),
            "error": bindparam("b_error"),
        },
        "halted": {"status": "pending", "claimed_by": None, "attempts": MESSAGES.c.attempts - 1},
        "suppressed": {"status": "suppressed", "reason": bindparam("b_reason")},
    }
)
