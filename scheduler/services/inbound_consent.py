"""What an opt-out, opt-in or possible opt-out text does, for `services.inbound`.

The number that texted is what opts out or in (`services.phone_consent`), whoever's records
carry it. Twilio answers its own default keywords when one is the whole text (STOP, START...):
we stay silent then. Every other opt-out (plain words, Spanish) gets the standard confirmation
from us, since Twilio did not see one; after it the number gets nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import phonenumbers
from sqlalchemy.orm import Session

from ..db.models import Client
from ..db.models.inbound import InboundMessage
from ..domain.replies import Parsed
from . import consent
from .context import ServiceContext

# Twilio's standard confirmations, so a client reads the same words whichever way they asked.
REPLY_OPTED_OUT = (
    "You have successfully been unsubscribed. You will not receive any more messages from this "
    "number. Reply START to resubscribe."
)
REPLY_OPTED_IN = (
    "You have successfully been re-subscribed to messages from this number. Reply HELP for "
    "help. Reply STOP to unsubscribe."
)
# The only answer to a text that may mean "stop texting me" but may be about a visit.
REPLY_HOW_TO_STOP = (
    "Thanks, our staff will read your message soon. To stop all texts from us, reply STOP. "
    "Urgent? Call {phone}."
)


def number_of(raw: str) -> str:
    """The E.164 form of a sender's number (as client phones are stored); as sent otherwise."""
    try:
        parsed = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        return raw.strip()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _texted(row: InboundMessage, parsed: Parsed, at: datetime) -> consent.Texted:
    return consent.Texted(
        phone=number_of(row.from_number),
        word=parsed.word,
        message_sid=row.message_sid,
        inbound_message_id=row.id,
        at=at,
        source="sms_keyword" if parsed.rule == "exact" else "sms_words",
    )


def opt_out(
    db: Session,
    ctx: ServiceContext,
    row: InboundMessage,
    parsed: Parsed,
    clients: Sequence[Client],
    at: datetime,
) -> str | None:
    """Opt the sending number out; the reply to send (None: Twilio answers it itself)."""
    consent.opt_out_by_text(db, ctx, _texted(row, parsed, at), clients)
    return None if parsed.carrier else REPLY_OPTED_OUT


def wants_opt_in(db: Session, row: InboundMessage, clients: Sequence[Client]) -> bool:
    return consent.wants_opt_in(db, number_of(row.from_number), clients)


def opt_in(
    db: Session,
    ctx: ServiceContext,
    row: InboundMessage,
    parsed: Parsed,
    clients: Sequence[Client],
    at: datetime,
) -> str | None:
    """Opt the sending number back in; the reply to send (None: Twilio answers it itself)."""
    consent.opt_in_by_text(db, ctx, _texted(row, parsed, at), clients)
    return None if parsed.carrier else REPLY_OPTED_IN
