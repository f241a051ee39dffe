"""Answering a client from the inbox: a staff-written text queued through the usual pipeline.

The reply is an outbound message row of kind "reply", sent by the dispatcher from the
office's number like every other text, so the same rules hold at send time: no text to a
client who opted out, has no consent on file or an undeliverable phone, and none in the
client's quiet hours (a reply written at night waits for the morning; the answer says when).
The text is checked here (not empty, no control characters, at most MAX_SEGMENTS segments)
and is never written to the log or the audit trail, only to the message row itself.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ..db.models import Client, InboxItem, OutboundMessage
from ..db.types import utcnow
from ..domain.reminders import next_allowed_at_or_after
from ..domain.sms import encoding_for, segment_count
from ..domain.texting_policy import texting_policy
from ..formats import format_when
from ..locations import Location
from . import audit
from .context import ServiceContext
from .errors import Invalid
from .inbox import get_item

MAX_SEGMENTS = 3


@dataclass(frozen=True)
class QueuedReply:
    message: OutboundMessage
    location: Location
    segments: int
    encoding: str
    held_until: datetime | None  # set when quiet hours hold the text

    def as_json(self) -> dict[str, object]:
        tz = self.location.tz
        send_at = self.message.send_at
        held = self.held_until is not None
        when = format_when(send_at, self.location.timezone) if send_at else None
        return {
            "id": self.message.id,
            "kind": self.message.kind,
            "status": self.message.status,
            "body": self.message.body,
            "segments": self.segments,
            "encoding": self.encoding,
            "location_id": self.location.id,
            "send_at": send_at.astimezone(tz).isoformat() if send_at else None,
            "held_for_quiet_hours": held,
            "notice": (
                f"Quiet hours for this client: the reply will be sent at {when}."
                if held
                else "The reply will be sent in a moment."
            ),
        }


def clean_text(raw: str) -> str:
    """The reply as it will be sent, or Invalid naming the problem (field `text`)."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise Invalid({"text": "is empty"})
    for ch in text:
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise Invalid({"text": f"contains a control or invisible character (U+{ord(ch):04X})"})
    segments = segment_count(text)
    if segments > MAX_SEGMENTS:
        raise Invalid(
            {"text": f"is {segments} text messages long; keep it to {MAX_SEGMENTS} "
             f"({MAX_SEGMENTS * 153} plain characters, fewer with emoji or accents)"}
        )  # fmt: skip
    return text


def _recipient(db: Session, item: InboxItem) -> Client:
    if item.client_id is None:
        reason = (
            "this phone is shared by several clients; merge the records if they are one "
            "person, or call"
            if item.kind == "ambiguous_sender"
            else "no client has this phone; call them, or add the phone to their record first"
        )
        raise Invalid({"item": reason})
    client = db.get(Client, item.client_id)
    assert client is not None  # a foreign key
    if client.merged_into_id is not None:
        client = db.get(Client, client.merged_into_id) or client
    if client.opted_out_at is not None:
        raise Invalid({"item": "the client's number opted out of texts (STOP); call them instead"})
    if not client.sms_consent:
        raise Invalid({"item": "no consent to text this client is on file; call them instead"})
    if client.phone_undeliverable_at is not None:
        raise Invalid({"item": "texts to this client's phone cannot be delivered; call them"})
    return client


def queue_reply(
    db: Session, ctx: ServiceContext, item_id: int, raw_text: str, *, actor: str
) -> QueuedReply:
    """Queue a reply to the client of an inbox item (audited without its words)."""
    item = get_item(db, item_id)
    text = clean_text(raw_text)
    if item.office_id is None:
        raise Invalid({"item": "this text reached no office's number; there is none to reply from"})
    location = ctx.locations.get(item.office_id)
    if location is None:
        raise Invalid({"item": f"office {item.office_id} is no longer configured"})
    client = _recipient(db, item)
    now = ctx.clock()
    policy = texting_policy(
        location,
        ctx.locations.get(client.home_office_id),
        max_per_day=ctx.settings.sms_max_per_client_day,
        max_per_week=ctx.settings.sms_max_per_client_week,
    )
    send_at = next_allowed_at_or_after(now, client.timezone, policy)
    stamp = utcnow()
    message = OutboundMessage(
        client_id=client.id,
        office_id=location.id,
        kind="reply",
        send_at=send_at,
        status="pending",
        attempts=0,
        body=text,
        created_at=stamp,
        updated_at=stamp,
    )
    db.add(message)
    db.flush()
    segments = segment_count(text)
    audit.record(
        db,
        actor=actor,
        action="inbox.replied",
        entity="inbox_item",
        entity_id=item.id,
        office_id=location.id,
        message_id=message.id,
        segments=segments,
        held_until=send_at.isoformat() if send_at > now else None,
    )
    return QueuedReply(
        message, location, segments, encoding_for(text), send_at if send_at > now else None
    )
