"""Consent to texts: opt-out and opt-in by text, and staff changes that keep the history.

Rules (also in the API description of PATCH /clients/{id}):

- An opt-out (a text, or Twilio's 21610) belongs to the phone number (`services.phone_consent`):
  it stops texts to every client with that number, now and later, and suppresses every
  pending message to them at once. A client's own consents are left as they were.
- An opt-in word (START, UNSTOP, YES, COMENZAR) from an opted-out number clears its opt-out
  and re-plans its clients' future messages; a client with that number and no sms_reminders
  consent on file gets it (source "sms"). Goal prompts resume only if agreed to before.
- Staff may not undo a client's own opt-out by flipping a flag: granting a consent to a client
  whose number opted out needs `consent_source` (how the new consent was obtained) and
  `consent_note` (when, and who witnessed it). Without them the change is refused naming the
  missing field; with them the number's opt-out is cleared (source "staff") and the new
  consent is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from ..db.models import Client
from . import audit, phone_consent
from .client_records import check_duplicate, with_phone
from .context import ServiceContext
from .directory import get_client, language_field, normalise_phone, record_consent
from .errors import Invalid

ConsentSource = Literal["in_person", "phone_call", "written_form", "patient_portal", "email"]
CONSENT_SOURCES: tuple[str, ...] = ConsentSource.__args__  # type: ignore[attr-defined]

# What Twilio keeps doing after a client texted an opt-out word, whatever our database says.
CARRIER_BLOCK_NOTICE = (
    "This client opted out by text. Twilio keeps blocking texts from the practice's numbers to "
    "this phone until the client texts START (or UNSTOP or YES); ask them to do so."
)


def _audit_texted(
    db: Session, client: Client, action: str, word: str, message_sid: str, **counts: int
) -> None:
    audit.record(
        db,
        actor=f"sms:{client.phone}",
        action=action,
        entity="client",
        entity_id=client.id,
        source="sms",
        word=word,
        message_sid=message_sid,
        **counts,
    )


@dataclass(frozen=True)
class Texted:
    """An opt-out or opt-in word as it arrived: from which number, in which inbound text."""

    phone: str
    word: str
    message_sid: str
    inbound_message_id: int | None
    at: datetime
    source: phone_consent.Source = "sms_keyword"


def opt_out_by_text(
    db: Session, ctx: ServiceContext, texted: Texted, clients: Sequence[Client]
) -> int:
    """Opt the number out and stop everything pending to its clients; how many were stopped.

    Recorded even when no client has the number yet: a record created later with it is
    opted out from the start.
    """
    phone_consent.opt_out(
        db,
        texted.phone,
        at=texted.at,
        source=texted.source,
        inbound_message_id=texted.inbound_message_id,
        recorded_by=f"sms:{texted.phone}",
        note=f"texted {texted.word!r}",
    )
    total = 0
    for client in clients:
        suppressed = ctx.texts.suppress_pending(db, client.id, "opted_out")
        _audit_texted(
            db, client, "client.opted_out", texted.word, texted.message_sid, suppressed=suppressed
        )
        total += suppressed
    return total


def wants_opt_in(db: Session, phone: str, clients: Sequence[Client]) -> bool:
    """True when an opt-in word from this number changes anything."""
    return not phone_consent.may_text(db, phone) or any(not c.sms_consent for c in clients)


def opt_in_by_text(
    db: Session, ctx: ServiceContext, texted: Texted, clients: Sequence[Client]
) -> int:
    """Opt the number back in after an opt-in word; returns how many messages were planned.

    Texting START is the client's own consent to texts at this number, so a record sharing the
    number that had no sms_reminders consent on file gets it (source "sms"); other consents
    stay as they were, so goal prompts resume only if the client had agreed to them before.
    """
    if not wants_opt_in(db, texted.phone, clients):
        return 0
    phone_consent.opt_in(
        db,
        texted.phone,
        at=texted.at,
        source=texted.source,
        inbound_message_id=texted.inbound_message_id,
        recorded_by=f"sms:{texted.phone}",
        note=f"texted {texted.word!r}",
    )
    planned = 0
    for client in clients:
        record_consent(
            db,
            client,
            "sms_reminders",
            True,
            source="sms",
            actor=f"sms:{client.phone}",
            note=f"texted {texted.word!r} ({texted.message_sid})",
        )
        db.flush()
        count = ctx.texts.replan_client(db, ctx, client.id)
        _audit_texted(db, client, "client.opted_in", texted.word, texted.message_sid, planned=count)
        planned += count
    return planned


@dataclass(frozen=True)
class ClientChange:
    """A staff change to a client; None means "leave as it is"."""

    sms_consent: bool | None = None
    goal_prompt_consent: bool | None = None
    goal_detail_consent: bool | None = None
    consent_source: str | None = None
    consent_note: str | None = None
    phone: str | None = None
    language: str | None = None
    confirm_duplicate: bool = False
    # True: the client asked staff (by phone, in person) to stop all texts to their number.
    opted_out: bool | None = None


_KIND = {
    "sms_consent": "sms_reminders",
    "goal_prompt_consent": "goal_prompts",
    "goal_detail_consent": "goal_details",
}


def _check(client: Client, change: ClientChange, opted_out: datetime | None) -> dict[str, bool]:
    """The consents that change, or Invalid naming every field that is wrong.

    `opted_out`: when the number the client will have after the change opted out, if it did.
    """
    wanted = {f: getattr(change, f) for f in _KIND if getattr(change, f) is not None}
    after = {f: wanted.get(f, getattr(client, f)) for f in _KIND}
    problems: dict[str, str] = {}
    granting = [f for f, v in wanted.items() if v]
    if opted_out is not None and granting:
        when = opted_out.isoformat(timespec="minutes")
        if not change.sms_consent:
            problems["sms_consent"] = (
                f"the client opted out by text at {when}; a new consent must include "
                "sms_consent: true"
            )
        if change.consent_source is None:
            problems["consent_source"] = (
                f"is required: the client opted out by text at {when}; say how the new consent "
                f"was obtained ({', '.join(CONSENT_SOURCES)})"
            )
        if not (change.consent_note or "").strip():
            problems["consent_note"] = (
                "is required after a text opt-out: when and by whom the new consent was given"
            )
    # Only grants are checked: withdrawing is always allowed, and a withdrawn sms_consent
    # already stops goal prompts, so the others may stay as the client left them.
    if change.goal_prompt_consent and not after["sms_consent"] and "sms_consent" not in problems:
        problems["goal_prompt_consent"] = "needs sms_consent too"
    if change.goal_detail_consent and not after["goal_prompt_consent"]:
        problems["goal_detail_consent"] = "needs goal_prompt_consent too"
    if change.opted_out is False:
        problems["opted_out"] = (
            "only true is accepted; an opt-out ends with a new consent (sms_consent: true with "
            "consent_source and consent_note) or START from the number"
        )
    elif change.opted_out and granting:
        problems["opted_out"] = "cannot be given together with a new consent"
    if (change.consent_source or change.consent_note) and not wanted and not change.opted_out:
        problems.setdefault("consent_source", "is only accepted together with a consent change")
    if problems:
        raise Invalid(problems)
    result = {f: v for f, v in wanted.items() if v != getattr(client, f)}
    if opted_out is not None and change.sms_consent:
        # An opt-out reported by Twilio (21610) may leave the flag set; the grant is still news.
        result["sms_consent"] = True
    return result


def update_client(
    db: Session, ctx: ServiceContext, client_id: int, change: ClientChange, *, actor: str
) -> tuple[Client, list[str]]:
    """Apply a staff change; returns the client and notices for whoever made it."""
    client = get_client(db, client_id)
    phone = normalise_phone(change.phone) if change.phone is not None else client.phone
    # The opt-out that matters is the one of the number the client will have.
    opted_out = phone_consent.opted_out_at(db, phone)
    changed = _check(client, change, opted_out)
    language = language_field(change.language) if change.language is not None else None
    notices: list[str] = []
    details: dict[str, Any] = {}
    phone_changed = False
    if change.phone is not None and phone != client.phone:
        check_duplicate(db, phone, confirmed=change.confirm_duplicate, exclude_id=client.id)
        details["phone"] = "changed"
        client.phone = phone
        # A new number deserves a fresh try; the dispatcher marks it again if it fails.
        client.phone_undeliverable_at = None
        client.phone_undeliverable_reason = None
        phone_changed = True
        db.flush()
        db.expire(client, Client.NUMBER_STATE)  # now the new number's state
    if language is not None and language != client.language:
        # Texts are worded when they are sent, so planned ones follow the new language.
        client.language = details["language"] = language
    note = None
    if change.consent_source is not None or change.consent_note:
        note = f"obtained: {change.consent_source or 'unspecified'}; {change.consent_note or ''}"
    for field, granted in changed.items():
        if record_consent(
            db, client, _KIND[field], granted, source="api", actor=actor, note=note, force=True
        ):
            details[field] = granted
    if opted_out is not None and change.sms_consent:
        phone_consent.opt_in(
            db, client.phone, at=ctx.clock(), source="staff", recorded_by=actor, note=note
        )
        details["opt_out_cleared"] = True
        notices.append(CARRIER_BLOCK_NOTICE)
    if change.opted_out and phone_consent.may_text(db, client.phone):
        phone_consent.opt_out(
            db,
            client.phone,
            at=ctx.clock(),
            source="staff",
            recorded_by=actor,
            note=change.consent_note or "the client asked staff to stop all texts",
        )
        details["opted_out"] = True
    if not details:
        return client, notices
    db.flush()
    if change.sms_consent is False:
        ctx.texts.suppress_pending(db, client.id, "consent_withdrawn")
    if details.get("opted_out"):
        for sharing in with_phone(db, [client.phone]):
            ctx.texts.suppress_pending(db, sharing.id, "opted_out")
    if phone_changed or any(f in details for f in _KIND):
        ctx.texts.replan_client(db, ctx, client.id)
    # The events were added as rows; reload the collection so the caller sees them.
    db.refresh(client, ["consent_events"])
    audit.record(
        db,
        actor=actor,
        action="client.updated",
        entity="client",
        entity_id=client.id,
        consent_source=change.consent_source,
        **details,
    )
    return client, notices
