"""Turning models into the API's JSON shapes (times shown in the office's zone with offset).

Clinical fields (the weekly goal) are included only when the caller says the reader may see
them (`services.access.clinical_visible`); otherwise they are absent, not null.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ...db.models import Client, PhoneConsentEvent, Series, Therapist
from ...domain.series import Skip
from ...locations import Location, LocationBook
from ...services.attendance import mark_of
from ...services.session_view import AnySession
from ...services.termination import course_status
from ...services.text_state import SessionTexts


def location(loc: Location, book: LocationBook) -> dict[str, Any]:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {
        "id": loc.id,
        "name": loc.name,
        "address": loc.address,
        "state": loc.state,
        "timezone": loc.timezone,
        "sms_number": loc.sms_number,
        "phone": loc.phone,
        "rooms": list(loc.rooms),
        "hours": {
            days[d]: [f"{a:%H:%M}-{b:%H:%M}" for a, b in loc.hours.get(d, ())] for d in range(7)
        },
        "closures": [{"date": c.date.isoformat(), "reason": c.reason} for c in loc.closures],
        "warnings": list(book.warnings_for(loc.id)),
    }


def therapist(t: Therapist) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "email": t.email,
        "location_ids": sorted(o.id for o in t.offices),
        "active": t.active,
    }


def client(c: Client) -> dict[str, Any]:
    return {
        "id": c.id,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "phone": c.phone,
        "timezone": c.timezone,
        "language": c.language,
        "home_location_id": c.home_office_id,
        "sms_consent": c.sms_consent,
        "goal_prompt_consent": c.goal_prompt_consent,
        "goal_detail_consent": c.goal_detail_consent,
        "opted_out": c.opted_out_at is not None,
        "opted_out_at": _iso(c.opted_out_at),
        "phone_undeliverable": c.phone_undeliverable_at is not None,
        "consent_history": [
            {
                "kind": e.kind,
                "granted": e.granted,
                "at": e.at.isoformat(),
                "source": e.source,
                "recorded_by": e.recorded_by,
            }
            for e in c.consent_events
        ],
    }


def number_consent_event(e: PhoneConsentEvent) -> dict[str, Any]:
    """One opt-out or opt-in of a number: never the words of the text that caused it."""
    return {
        "event": e.event,
        "source": e.source,
        "at": e.at.isoformat(),
        "inbound_message_id": e.inbound_message_id,
        "recorded_by": e.recorded_by,
    }


def session(
    s: AnySession,
    texts: SessionTexts | None = None,
    *,
    clinical: bool,
    measure_due: bool | None = None,
) -> dict[str, Any]:
    """A session; `texts` (from services.text_state) adds its one text state, `measure_due`
    (is a questionnaire due?) is added when the caller looked it up."""
    zone = ZoneInfo(s.timezone)
    series = s.series
    out = {
        "id": s.id,
        "series_id": s.series_id,
        "number": s.number,
        "session_count": series.session_count,
        "phase": s.phase,
        "starts_at": s.starts_at.astimezone(zone).isoformat(),
        "ends_at": s.ends_at.astimezone(zone).isoformat(),
        "local_date": s.local_date.isoformat(),
        "local_time": s.local_time.isoformat("minutes"),
        "timezone": s.timezone,
        "location_id": s.office_id,
        "therapist_id": s.therapist_id,
        "client_id": series.client_id,
        "room": s.room,
        "status": s.status,
        "cancelled_by": s.cancelled_by,
        "cancel_reason": s.cancel_reason,
        "counts": s.counts,
        "is_make_up": s.is_make_up,
        "confirmed": s.confirmed_at is not None,
        "confirmed_at": _iso(s.confirmed_at),
        "revision": s.revision,
        "late_cancel": s.late_cancel,
        # attended | no_show | late_cancelled, or None while nothing is recorded.
        "attendance": mark_of(s),
        "marked_at": _iso(s.marked_at),
    }
    if measure_due is not None:  # what the front desk may know of the measures
        out["measure_due"] = measure_due
    if clinical:
        out["weekly_goal"] = s.weekly_goal
    if texts is not None:
        out["text_state"] = texts.state
        out["text_detail"] = texts.detail
    return out


def series(
    sr: Series,
    skipped: tuple[Skip, ...] = (),
    texts: Mapping[int, SessionTexts] | None = None,
    *,
    clinical: bool,
    now: datetime,
    due: Mapping[int, bool] | None = None,
) -> dict[str, Any]:
    """A series with its sessions and where the course stands at `now`.

    `due` maps session ids to "a questionnaire is due"; `clinical` adds the measure plan;
    `texts` maps session ids to their one text state.
    """
    active = [s for s in sr.sessions if s.status != "cancelled"]
    status = course_status(sr, now)
    due = due or {}
    out = {
        "id": sr.id,
        "client_id": sr.client_id,
        "therapist_id": sr.therapist_id,
        "location_id": sr.office_id,
        "first_session_date": sr.first_session_date.isoformat(),
        "start_time": sr.start_time.isoformat("minutes"),
        "timezone": sr.office.timezone,
        "session_count": sr.session_count,
        "duration_minutes": sr.duration_minutes,
        "problem_area": sr.problem_area,
        "room": sr.room,
        "status": sr.status,
        "kind": sr.kind,
        "cadence_weeks": sr.cadence_weeks,
        "continues_series_id": sr.continues_series_id,
        "current_phase": status.phase,
        "termination_starts_at": status.termination_starts_at,
        "termination_starts_on": _iso(status.termination_starts_on),
        "termination_reached": status.termination_reached,
        "sessions_left": status.sessions_left,
        "last_session_date": max(s.local_date for s in active).isoformat() if active else None,
        "sessions": [
            session(s, (texts or {}).get(s.id), clinical=clinical, measure_due=due.get(s.id, False))
            for s in sr.sessions
        ],
        "skipped": [{"date": s.day.isoformat(), "reason": s.reason} for s in skipped],
    }
    if clinical:
        out["measure_plan"] = {"schedule": sr.measure_schedule, "gad7": sr.measure_gad7}
    return out


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
