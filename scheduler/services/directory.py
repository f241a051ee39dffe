"""People and places: offices synced from locations.yaml, therapists, clients and consents."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Client, ConsentEvent, Office, Therapist, TherapySession
from ..db.types import utcnow
from ..domain.languages import DEFAULT_LANGUAGE, check_language
from ..locations import LocationBook
from . import audit, client_records, feeds
from .context import ServiceContext
from .errors import Invalid, NotFound

CONSENT_KINDS = ("sms_reminders", "goal_prompts", "goal_details")


def sync_offices(db: Session, book: LocationBook) -> list[str]:
    """Mirror locations.yaml into the offices table; returns what changed.

    An office that disappeared from the file is deactivated only if it has no future sessions;
    otherwise this refuses, since silently orphaning booked clients is worse than a failed deploy.
    """
    existing = {o.id: o for o in db.scalars(select(Office))}
    changes = []
    for loc in book.locations:
        row = existing.pop(loc.id, None)
        if row is None:
            row = Office(id=loc.id)
            db.add(row)
            changes.append(f"added {loc.id}")
        fields = {
            "name": loc.name,
            "address": loc.address,
            "timezone": loc.timezone,
            "sms_number": loc.sms_number,
            "phone": loc.phone,
            "active": True,
        }
        for key, value in fields.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
        row.synced_at = utcnow()
    for gone in existing.values():
        if not gone.active:
            continue
        future = db.scalar(
            select(func.count())
            .select_from(TherapySession)
            .where(
                TherapySession.office_id == gone.id,
                TherapySession.status == "scheduled",
                TherapySession.starts_at > utcnow(),
            )
        )
        if future:
            raise Invalid(
                {
                    "locations": f"office {gone.id} was removed from the locations file "
                    f"but has {future} future sessions; move or cancel them first"
                }
            )
        gone.active = False
        changes.append(f"deactivated {gone.id}")
    db.flush()
    return changes


def create_therapist(
    db: Session,
    ctx: ServiceContext,
    *,
    name: str,
    email: str,
    location_ids: list[str],
    actor: str,
) -> Therapist:
    unknown = [i for i in location_ids if ctx.locations.get(i) is None]
    if unknown:
        raise Invalid({"location_ids": "unknown location " + ", ".join(unknown)})
    if db.scalar(select(Therapist.id).where(func.lower(Therapist.email) == email.lower())):
        raise Invalid({"email": "a therapist with this email already exists"})
    offices = list(db.scalars(select(Office).where(Office.id.in_(location_ids))))
    therapist = Therapist(name=name, email=email, offices=offices)
    db.add(therapist)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="therapist.created",
        entity="therapist",
        entity_id=therapist.id,
        locations=location_ids,
    )
    # Every therapist can subscribe to their sessions from the start, however they were created.
    feeds.rotate_token(db, ctx, "therapist", therapist.id, actor=actor)
    return therapist


def normalise_phone(raw: str) -> str:
    """E.164 for a US number as typed ("(206) 555-0100", "+1 206..."), or Invalid."""
    try:
        parsed = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        raise Invalid({"phone": "is not a phone number"}) from None
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid({"phone": "is not a valid phone number"})
    if phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise Invalid({"phone": "must be a mobile number that can receive texts"})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def check_zone(zone: str) -> str:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid({"timezone": f"unknown time zone {zone!r}"}) from None
    return zone


def language_field(code: str) -> str:
    """A supported language code, or Invalid naming the `language` field."""
    try:
        return check_language(code)
    except ValueError as exc:
        raise Invalid({"language": str(exc)}) from None


@dataclass(frozen=True)
class NewClient:
    first_name: str
    last_name: str
    phone: str
    home_location_id: str
    timezone: str | None = None
    language: str = DEFAULT_LANGUAGE
    sms_consent: bool = False
    goal_prompt_consent: bool = False
    goal_detail_consent: bool = False
    # Families share phones: a phone already on file is refused unless this is set.
    confirm_duplicate: bool = False


def create_client(
    db: Session, ctx: ServiceContext, new: NewClient, *, actor: str, source: str = "api"
) -> Client:
    location = ctx.locations.get(new.home_location_id)
    if location is None:
        raise NotFound("location", new.home_location_id, field="home_location_id")
    phone = normalise_phone(new.phone)
    zone = check_zone(new.timezone) if new.timezone else location.timezone
    language = language_field(new.language)
    if (new.goal_prompt_consent or new.goal_detail_consent) and not new.sms_consent:
        raise Invalid({"goal_prompt_consent": "needs sms_consent too"})
    if new.goal_detail_consent and not new.goal_prompt_consent:
        raise Invalid({"goal_detail_consent": "needs goal_prompt_consent too"})
    sharing = client_records.check_duplicate(db, phone, confirmed=new.confirm_duplicate)
    client = Client(
        first_name=new.first_name,
        last_name=new.last_name,
        phone=phone,
        timezone=zone,
        home_office_id=location.id,
        language=language,
    )
    db.add(client)
    db.flush()
    wanted = {
        "sms_reminders": new.sms_consent,
        "goal_prompts": new.goal_prompt_consent,
        "goal_details": new.goal_detail_consent,
    }
    for kind, granted in wanted.items():
        record_consent(db, client, kind, granted, source=source, actor=actor, force=True)
    audit.record(
        db,
        actor=actor,
        action="client.created",
        entity="client",
        entity_id=client.id,
        shares_phone_with=[c.id for c in sharing] or None,
    )
    return client


_CONSENT_COLUMN = {
    "sms_reminders": "sms_consent",
    "goal_prompts": "goal_prompt_consent",
    "goal_details": "goal_detail_consent",
}


def record_consent(
    db: Session,
    client: Client,
    kind: str,
    granted: bool,
    *,
    source: str,
    actor: str,
    note: str | None = None,
    force: bool = False,
) -> bool:
    column = _CONSENT_COLUMN[kind]
    if not force and getattr(client, column) == granted:
        return False
    setattr(client, column, granted)
    db.add(
        ConsentEvent(
            client_id=client.id,
            kind=kind,
            granted=granted,
            source=source,
            recorded_by=actor,
            note=note,
            at=utcnow(),
        )
    )
    return True


def get_client(db: Session, client_id: int) -> Client:
    """The client record; one merged into another answers as not found."""
    client = db.get(Client, client_id)
    if client is None or client.merged_into_id is not None:
        raise NotFound("client", client_id)
    return client


def get_therapist(db: Session, therapist_id: int) -> Therapist:
    therapist = db.get(Therapist, therapist_id)
    if therapist is None:
        raise NotFound("therapist", therapist_id)
    return therapist
