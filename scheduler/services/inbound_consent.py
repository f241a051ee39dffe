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

# Our confirmations follow Twilio's standard ones, so a client reads the same words whichever
# way they asked; they are worded in the client's language (templates/sms/reply_opted_out.txt,
# reply_opted_in.txt, and reply_how_to_stop.txt for a text that may mean "stop").


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
) -> bool:
    """Opt the sending number out; whether we confirm it (False: Twilio answers it itself)."""
    consent.opt_out_by_text(db, ctx, _texted(row, parsed, at), clients)
    return not parsed.carrier


def wants_opt_in(db: Session, row: InboundMessage, clients: Sequence[Client]) -> bool:
    return consent.wants_opt_in(db, number_of(row.from_number), clients)


def opt_in(
    db: Session,
    ctx: ServiceContext,
    row: InboundMessage,
    parsed: Parsed,
    clients: Sequence[Client],
    at: datetime,
) -> bool:
    """Opt the sending number back in; whether we confirm it (False: Twilio answers it)."""
    consent.opt_in_by_text(db, ctx, _texted(row, parsed, at), clients)
    return not parsed.carrier
