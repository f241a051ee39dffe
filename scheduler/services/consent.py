"""Consent to texts: opt-out and opt-in by text, and staff changes that keep the history.

Rules (also in the API description of PATCH /clients/{id}):

- A text with an opt-out word sets `opted_out_at`, withdraws `sms_reminders` consent with
  source "sms", and suppresses every pending message of the client at once.
- An opt-in word (START, UNSTOP, YES) from an opted-out client restores `sms_reminders` consent
  (source "sms") and re-plans the client's future messages. Other consents are left as they
  were, so goal prompts resume only if the client had agreed to them before.
- Staff may not undo a client's own opt-out by flipping a flag: granting a consent to a client
  with `opted_out_at` set needs `consent_source` (how the new consent was obtained) and
  `consent_note` (when, and who witnessed it). Without them the change is refused naming the
  missing field; with them the opt-out is cleared and the new consent is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from ..db.models import Client
from . import audit
from .client_records import check_duplicate
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


def _sms_actor(client: Client) -> str:
    return f"sms:{client.phone}"


def _record_texted(db: Session, client: Client, granted: bool, word: str, message_sid: str) -> None:
    # Forced: a repeated STOP (or START) is still a fact worth keeping in the history.
    record_consent(
        db,
        client,
        "sms_reminders",
        granted,
        source="sms",
        actor=_sms_actor(client),
        note=f"texted {word!r} ({message_sid})",
        force=True,
    )


def _audit_texted(
    db: Session, client: Client, action: str, word: str, message_sid: str, **counts: int
) -> None:
    audit.record(
        db,
        actor=_sms_actor(client),
        action=action,
        entity="client",
        entity_id=client.id,
        source="sms",
        word=word,
        message_sid=message_sid,
        **counts,
    )


def opt_out_by_text(
    db: Session, ctx: ServiceContext, client: Client, *, word: str, at: datetime, message_sid: str
) -> int:
    """Record a texted opt-out and suppress everything pending; returns how many were stopped."""
    if client.opted_out_at is None:
        client.opted_out_at = at
    _record_texted(db, client, False, word, message_sid)
    suppressed = ctx.texts.suppress_pending(db, client.id, "opted_out")
    _audit_texted(db, client, "client.opted_out", word, message_sid, suppressed=suppressed)
    return suppressed


def wants_opt_in(client: Client) -> bool:
    """True when an opt-in word from this client changes anything."""
    return client.opted_out_at is not None or not client.sms_consent


def opt_in_by_text(
    db: Session, ctx: ServiceContext, client: Client, *, word: str, message_sid: str
) -> int:
    """Opt a client back in after an opt-in word; returns how many messages were planned."""
    if not wants_opt_in(client):
        return 0
    client.opted_out_at = None
    _record_texted(db, client, True, word, message_sid)
    db.flush()
    planned = ctx.texts.replan_client(db, ctx, client.id)
    _audit_texted(db, client, "client.opted_in", word, message_sid, planned=planned)
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


_KIND = {
    "sms_consent": "sms_reminders",
    "goal_prompt_consent": "goal_prompts",
    "goal_detail_consent": "goal_details",
}


def _check(client: Client, change: ClientChange) -> dict[str, bool]:
    """The consents that change, or Invalid naming every field that is wrong."""
    wanted = {f: getattr(change, f) for f in _KIND if getattr(change, f) is not None}
    after = {f: wanted.get(f, getattr(client, f)) for f in _KIND}
    problems: dict[str, str] = {}
    granting = [f for f, v in wanted.items() if v]
    if client.opted_out_at is not None and granting:
        when = client.opted_out_at.isoformat(timespec="minutes")
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
    if (change.consent_source or change.consent_note) and not wanted:
        problems.setdefault("consent_source", "is only accepted together with a consent change")
    if problems:
        raise Invalid(problems)
    result = {f: v for f, v in wanted.items() if v != getattr(client, f)}
    if client.opted_out_at is not None and change.sms_consent:
        # An opt-out reported by Twilio (21610) may leave the flag set; the grant is still news.
        result["sms_consent"] = True
    return result


def update_client(
    db: Session, ctx: ServiceContext, client_id: int, change: ClientChange, *, actor: str
) -> tuple[Client, list[str]]:
    """Apply a staff change; returns the client and notices for whoever made it."""
    client = get_client(db, client_id)
    changed = _check(client, change)
    language = language_field(change.language) if change.language is not None else None
    notices: list[str] = []
    details: dict[str, Any] = {}
    phone_changed = False
    if change.phone is not None:
        phone = normalise_phone(change.phone)
        if phone != client.phone:
            check_duplicate(db, phone, confirmed=change.confirm_duplicate, exclude_id=client.id)
            details["phone"] = "changed"
            client.phone = phone
            # A new number deserves a fresh try; the dispatcher marks it again if it fails.
            client.phone_undeliverable_at = None
            client.phone_undeliverable_reason = None
            phone_changed = True
    if language is not None and language != client.language:
        # Texts are worded when they are sent, so planned ones follow the new language.
        client.language = details["language"] = language
    was_opted_out = client.opted_out_at is not None
    note = None
    if change.consent_source is not None or change.consent_note:
        note = f"obtained: {change.consent_source or 'unspecified'}; {change.consent_note or ''}"
    for field, granted in changed.items():
        if record_consent(
            db, client, _KIND[field], granted, source="api", actor=actor, note=note, force=True
        ):
            details[field] = granted
    if was_opted_out and change.sms_consent:
        client.opted_out_at = None
        details["opt_out_cleared"] = True
        notices.append(CARRIER_BLOCK_NOTICE)
    if not details:
        return client, notices
    db.flush()
    if change.sms_consent is False:
        ctx.texts.suppress_pending(db, client.id, "consent_withdrawn")
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
