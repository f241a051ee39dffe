"""Turning times, sessions and booking previews into what the pages show (no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ... import formats
from ...db.models import TherapySession
from ...domain.phases import course_phase
from ...domain.series import Skip
from ...services.booking import Preview
from ...services.conflicts import summarise
from ...services.suggestions import Suggestion

# The zones a client may live in (the booking form's choice); labels come from `formats`.
US_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)
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
    """'Pacific (PST)' as on `day` (default today)."""
    return formats.zone_name(zone, day)


def zone_name(zone: str) -> str:
    """'Pacific': a zone's name without the date-dependent abbreviation (a form's choice)."""
    return formats.zone_name(zone).rsplit(" (", 1)[0]


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


def fmt_phone(e164: str | None) -> str:
    """'(206) 555-0142'."""
    return formats.format_phone(e164)


def fmt_clock(at: time) -> str:
    """'9:30 AM': a wall-clock time of day."""
    return formats.format_time(at)


def fmt_time(dt: datetime | None, zone: str) -> str:
    """'5:00 PM' in `zone`."""
    return "" if dt is None else formats.format_time(dt, zone)


def fmt_when(dt: datetime | None, zone: str) -> str:
    """'Wed, Mar 3, 2027, 5:00 PM PST' in `zone`."""
    return "" if dt is None else formats.format_when(dt, zone)


def fmt_day(day: date) -> str:
    """'Wednesday, March 3, 2027'."""
    return formats.format_long_date(day)


def fmt_short_day(day: date) -> str:
    """'Wed, Mar 3'."""
    return formats.format_short_date(day)


def fmt_date(day: date) -> str:
    """'Wed, Mar 3, 2027'."""
    return formats.format_date(day)


def named_error(message: str, label: str) -> str:
    """An error that names its field: 'is in the past' -> 'First session date is in the past'."""
    text = message.strip()
    name = label.strip().rstrip(":")
    if not name or text.lower().startswith(name.lower()):
        return text
    if text.startswith("This field"):
        return name + text[len("This field") :]
    if text[:1].isupper():  # already a sentence of its own ("Wrong email or password.")
        return text
    return f"{name} {text}"


def session_phase(s: TherapySession) -> str:
    """The IPT phase, or '' for a session that no longer counts towards the contract."""
    n = s.series.session_count
    if not s.counts or not 1 <= s.number <= n:
        return ""
    return course_phase(s.series.kind, s.number, n)


def session_position(s: TherapySession) -> str:
    if not s.counts:
        return "—"
    return f"{s.number}/{s.series.session_count}"


def cadence(weeks: int) -> str:
    """A series' rhythm in words: "week", "2 weeks", "4 weeks"."""
    return "week" if weeks == 1 else f"{weeks} weeks"


def status_label(s: TherapySession) -> str:
    if s.status == "cancelled" and s.late_cancel:
        return "late cancel"
    if s.status == "cancelled":
        who = f" by {s.cancelled_by}" if s.cancelled_by else ""
        return f"cancelled{who}"
    return {"no_show": "no-show"}.get(s.status, s.status)


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

    @property
    def time_label(self) -> str:
        """'5:00 PM' (`time` stays 17:00 for the JSON)."""
        return formats.format_time(time.fromisoformat(self.time))


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
    # Each obstacle once, naming the sessions it blocks ("Seattle is not open then: sessions 1–16").
    summary: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    # The booking confirmation as the client will get it (booking_text.ConfirmationPreview).
    confirmation: Any = None

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
            "confirmation": None
            if self.confirmation is None
            else {
                "language": self.confirmation.language,
                "text": self.confirmation.text,
                "segments": self.confirmation.segments,
                "encoding": self.confirmation.encoding,
            },
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


def _make_ups(held: list[date], skipped: tuple[Skip, ...] | list[Skip]) -> dict[Skip, date]:
    """Which extra session at the end makes up which skipped slot.

    The series' slots, held or skipped, follow one another at its cadence; the first N are
    the contract, the held ones after them are the make-ups, given in order to the skips among
    the first N. A skip after them was a make-up slot closed in its turn: the next slot
    takes its place, and it makes up nothing itself.
    """
    slots = sorted([*held, *(s.day for s in skipped)])
    if not held or not skipped:
        return {}
    contract_end = slots[len(held) - 1]
    extra = [d for d in held if d > contract_end]
    within = [s for s in sorted(skipped, key=lambda s: s.day) if s.day <= contract_end]
    return dict(zip(within, extra, strict=False))


def preview_view(preview: Preview) -> PreviewView:
    loc = preview.location
    view = PreviewView(ok=False, office=loc.name, zone=zone_name(loc.timezone), error=preview.error)
    view.summary = [str(g["message"]) for g in summarise(preview.conflicts)]
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
    make_ups = _make_ups([p.local_date for p in sessions], plan.skipped)
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
                f"clocks changed: still {row.time_label} in {loc.name}, now {row.zone_abbr} "
                f"({row.offset})"
            )
            view.dst_notes.append(f"Session {p.number} on {fmt_day(p.local_date)}: {row.dst_note}")
        view.rows.append(row)
    view.ok = view.error is None and view.conflict_count == 0
    return view
