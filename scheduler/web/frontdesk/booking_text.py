"""The booking preview's confirmation text: what the client will get, in the client's language.

Worded by the text pipeline itself (texts.wording), with the same facts the dispatcher will use:
the client's first name, zone and language (from the record, or as typed for a new client),
the office, and the first session of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...db.models import Client
from ...domain.languages import DEFAULT_LANGUAGE, LANGUAGE_NAMES
from ...domain.sms import encoding_for, segment_count
from ...locations import Location
from ...services.booking import Preview
from ...texts import wording
from ..context import ctx
from .forms import BookingForm


@dataclass(frozen=True)
class ConfirmationPreview:
    language: str
    language_name: str
    text: str
    segments: int
    encoding: str


def client_language(form: BookingForm, client: Client | None) -> str:
    """The chosen client's language, or the one picked for a new client."""
    if form.client_mode.data != "new" and client is not None:
        return client.language
    chosen = form.client_language.data or DEFAULT_LANGUAGE
    return chosen if chosen in LANGUAGE_NAMES else DEFAULT_LANGUAGE


def confirmation(
    form: BookingForm, client: Client | None, preview: Preview
) -> ConfirmationPreview | None:
    """The booking confirmation as it would be texted, or None before there is a first visit."""
    plan = preview.plan
    if plan is None or not plan.sessions:
        return None
    office: Location = preview.location
    existing = form.client_mode.data != "new" and client is not None
    first_name = client.first_name if existing and client else (form.first_name.data or "")
    zone = (
        client.timezone if existing and client else (form.client_timezone.data or office.timezone)
    )
    language = client_language(form, client)
    ordered = sorted(plan.sessions, key=lambda s: s.starts_at)
    first, last = ordered[0].starts_at.isoformat(), ordered[-1].starts_at.isoformat()
    # The facts texts.notices will store at booking: the weekly pattern, the range and the
    # weeks the office is closed.
    facts = {
        "pattern": first,
        "cadence": 1,
        "count": len(ordered),
        "first": first,
        "last": last,
        "skipped": [skip.day.isoformat() for skip in plan.skipped],
        "first_planned": first,
        "first_change": None,
        "first_moved_to": None,
    }
    text = wording.render(
        wording.TextFacts(
            kind="booking_confirmation",
            first_name=first_name.strip() or None,
            client_zone=zone,
            office=office,
            practice=ctx().locations.practice,
            number=1,
            session_count=len(ordered),
            starts_at=ordered[0].starts_at,
            notice=facts,
            language=language,
        )
    )
    return ConfirmationPreview(
        language, LANGUAGE_NAMES[language], text, segment_count(text), encoding_for(text)
    )
