"""Turning times, sessions and booking previews into what the pages show (no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from ...db.models import TherapySession
from ...domain.phases import phase_for
from ...domain.series import Skip
from ...services.booking import Preview

ZONE_NAMES = {
    "America/New_York": "Eastern time",
    "America/Chicago": "Central time",
    "America/Denver": "Mountain time",
    "America/Phoenix": "Arizona time (no daylight saving)",
    "America/Los_Angeles": "Pacific time",
    "America/Anchorage": "Alaska time",
    "Pacific/Honolulu": "Hawaii time",
}
US_ZONES = tuple(ZONE_NAMES)
PROBLEM_AREA_LABELS = {
    "grief": "Grief",
    "role_dispute": "Role dispute",
    "role_transition": "Role transition",
    "interpersonal_deficits": "Interpersonal deficits",
}


def offset_label(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def zone_label(zone: str, day: date | None = None) -> str:
    """'Pacific time, PST (UTC−08:00), America/Los_Angeles' as on `day` (noon, local)."""
    tz = ZoneInfo(zone)
    at = datetime.combine(day, time(12), tz) if day else datetime.now(tz)
    name = ZONE_NAMES.get(zone, zone)
    return f"{name}, {at.tzname()} ({offset_label(at.utcoffset())}), {zone}"


def zone_name(zone: str) -> str:
    """'Pacific time (America/Los_Angeles)': the zone without a date-dependent abbreviation."""
    return f"{ZONE_NAMES.get(zone, zone)} ({zone})"


def audit_details(details: dict[str, Any], zone: str) -> str:
    """An audit entry's details as one readable line; instants shown in `zone`."""
    parts = []
    for key, value in details.items():
        if value is None or key == "series_id":
            continue
        parts.append(f"{key.replace('_', ' ')}: {_audit_value(value, zone)}")
    return "; ".join(parts)


def _audit_value(value: Any, zone: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_audit_value(v, zone) for v in value) or "none"
    if isinstance(value, dict):
        if "date" in value:
            return f"{value['date']} ({value.get('reason', '')})"
        return ", ".join(f"{k} {_audit_value(v, zone)}" for k, v in value.items())
    if isinstance(value, str) and "T" in value:
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.tzinfo is not None:
            return fmt_when(instant, zone)
    return str(value)


def local(dt: datetime | None, zone: str) -> datetime | None:
    return None if dt is None else dt.astimezone(ZoneInfo(zone))


def fmt_time(dt: datetime | None, zone: str) -> str:
    loc = local(dt, zone)
    return "" if loc is None else f"{loc:%H:%M}"


def fmt_when(dt: datetime | None, zone: str) -> str:
    """'Wed 3 Mar 2027, 17:00 PST' in `zone`."""
    loc = local(dt, zone)
    if loc is None:
        return ""
    return f"{loc:%a} {loc.day} {loc:%b %Y}, {loc:%H:%M} {loc.tzname()}"


def fmt_day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def fmt_short_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def session_phase(s: TherapySession) -> str:
    """The IPT phase, or '' for a session that no longer counts towards the contract."""
    n = s.series.session_count
    if not s.counts or not 1 <= s.number <= n:
        return ""
    return phase_for(s.number, n)


def session_position(s: TherapySession) -> str:
    if not s.counts:
        return "—"
    return f"{s.number}/{s.series.session_count}"


def status_label(s: TherapySession) -> str:
    if s.status == "cancelled":
        who = f" by {s.cancelled_by}" if s.cancelled_by else ""
        return f"cancelled{who}"
    return {"no_show": "no-show"}.get(s.status, s.status)


def fmt_phone(e164: str) -> str:
    """'(520) 555-0110' for '+15205550110'; the input unchanged if it does not parse."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def client_name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


@dataclass
class PreviewRow:
    number: int
    phase: str
    day: date
    time: str
    zone_abbr: str
    offset: str
    dst_note: str = ""
    make_up_for: Skip | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class PreviewView:
    ok: bool
    office: str
    zone: str
    error: str | None = None
    rows: list[PreviewRow] = field(default_factory=list)
    skipped: list[tuple[Skip, date | None]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # those not tied to one session
    dst_notes: list[str] = field(default_factory=list)

    @property
    def conflict_count(self) -> int:
        return len(self.problems) + sum(len(r.problems) for r in self.rows)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "office": self.office,
            "timezone": self.zone,
            "conflicts": self.conflict_count,
            "dst_notes": self.dst_notes,
            "skipped": [
                {"date": s.day.isoformat(), "reason": s.reason, "make_up": m and m.isoformat()}
                for s, m in self.skipped
            ],
            "sessions": [
                {
                    "number": r.number,
                    "phase": r.phase,
                    "date": r.day.isoformat(),
                    "time": r.time,
                    "zone": r.zone_abbr,
                    "utc_offset": r.offset,
                    "dst_note": r.dst_note,
                    "problems": r.problems,
                }
                for r in self.rows
            ],
        }


def preview_view(preview: Preview) -> PreviewView:
    loc = preview.location
    view = PreviewView(ok=False, office=loc.name, zone=zone_name(loc.timezone), error=preview.error)
    by_number: dict[int, list[str]] = {}
    for c in preview.conflicts:
        number = c.get("number")
        text = str(c.get("message") or c.get("reason") or "conflict")
        if isinstance(number, int):
            by_number.setdefault(number, []).append(text)
        elif c.get("date"):
            view.problems.append(f"{c['date']}: {text}")
        else:
            view.problems.append(text)
    plan = preview.plan
    if plan is None:
        return view
    sessions = plan.sessions
    # Each skipped week pushes the series one week on: the k-th skip is made up by the k-th of
    # the extra weeks at the end.
    extra = [p.local_date for p in sessions[len(sessions) - len(plan.skipped) :]]
    make_ups = dict(zip(plan.skipped, extra, strict=False))
    view.skipped = [(s, make_ups.get(s)) for s in plan.skipped]
    made_up_by = {d: s for s, d in make_ups.items()}
    for p in sessions:
        at = p.starts_at.astimezone(ZoneInfo(p.zone))
        row = PreviewRow(
            number=p.number,
            phase=p.phase,
            day=p.local_date,
            time=f"{p.local_time:%H:%M}",
            zone_abbr=at.tzname() or "",
            offset=offset_label(p.utc_offset),
            make_up_for=made_up_by.get(p.local_date),
            problems=by_number.get(p.number, []),
        )
        if p.dst_changed:
            row.dst_note = (
                f"clocks changed: still {row.time} in {loc.name}, now {row.zone_abbr} "
                f"({row.offset})"
            )
            view.dst_notes.append(f"Session {p.number} on {fmt_day(p.local_date)}: {row.dst_note}")
        view.rows.append(row)
    view.ok = view.error is None and view.conflict_count == 0
    return view
