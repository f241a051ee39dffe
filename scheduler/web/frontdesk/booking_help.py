"""Help on the booking form: free weekly slots when the one asked for is taken, and a client
already on file with the phone being typed.

Both come from the services (`suggestions.suggest`, `client_records`); this module turns the
desk's choice of either back into the form's fields. Every choice is a submit button of the
booking form itself, so it works without scripts: pressing one fills the form and shows its
preview, and nothing is booked until "Book the series".
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from ...db.models import Client
from ...services import access as policy
from ...services import client_records, suggestions
from ...services.booking import SeriesRequest
from ...services.errors import Invalid, NotFound
from ..context import ctx, db
from ..reach import viewer
from .forms import BookingForm


def suggestions_for(req: SeriesRequest) -> list[suggestions.Suggestion]:
    """Up to 5 weekly slots free in all N weeks; none when the request cannot be booked at all."""
    try:
        return suggestions.suggest(db(), ctx(), req)
    except (Invalid, NotFound):
        return []  # the form shows what is missing next to its fields


def apply_choice(form: BookingForm, data: Any) -> bool:
    """Fill the form from a pressed suggestion or "use this client" button; was one pressed?"""
    raw = data.get("suggestion", "")
    if raw:
        return _apply_suggestion(form, raw)
    chosen = data.get("use_client", "")
    if chosen.isdigit():
        form.client_mode.data = "existing"
        form.client_id.data = int(chosen)
        return True
    return False


def _apply_suggestion(form: BookingForm, raw: str) -> bool:
    parts = raw.split("|")
    if len(parts) != 4 or not parts[0].isdigit():
        return False
    try:
        first, at = date.fromisoformat(parts[1]), time.fromisoformat(parts[2])
    except ValueError:
        return False
    offered = {c.value for c in form.therapist_id.choices}  # type: ignore[union-attr]
    if parts[0] in offered:
        form.therapist_id.data = int(parts[0])
    form.first_session_date.data = first
    form.start_time.data = at
    form.room.data = parts[3]
    # Date and time inputs render what was typed (raw_data) over .data: show the new values.
    form.first_session_date.raw_data = form.start_time.raw_data = None
    return True


def shown_duplicates(exc: client_records.Duplicate) -> list[Client]:
    """The records sharing the phone that this user may see (others are not confirmed)."""
    user = viewer()
    return [c for c in exc.existing if policy.reaches(db(), user, Client, c.id)]
