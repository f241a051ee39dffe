"""Conflicts that say what stands in the way, and once: who, which room, what hours, which holiday.

Each conflict keeps the shape the API has always had (`number`, `starts_at`, `reason`,
`message`, and `conflicting_session_id` for sessions) and adds `blocked_by`, the thing in the
way as data:

- {"type": "session", "session_id", "series_id", "client_initials", "therapist_id",
  "therapist_name", "location_id", "room", "starts_at", "ends_at"} for a therapist, room or
  client already booked;
- {"type": "hours", "location_id", "open"} for a time outside the office's opening hours;
- {"type": "holiday" | "closure", "date", "name"} for a day the office is shut.

`summarise` groups conflicts by what blocks them, so 16 sessions outside opening hours are
one line ("Seattle is not open then") naming the 16 sessions, and a weekly clash with another
client's series is one line too. `redact` hides the client of a blocking session that the
reader may not see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..formats import format_date, format_time, format_time_range
from ..locations import Location

Conflicts = list[dict[str, Any]]
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


@dataclass(frozen=True)
class Busy:
    """Another active session standing in the way, with what a person needs to recognise it."""

    session_id: int
    series_id: int
    therapist_id: int
    therapist_name: str
    office_id: str
    office_name: str
    room: str | None
    timezone: str
    starts_at: datetime
    ends_at: datetime
    client_id: int
    client_initials: str


def initials(first: str, last: str) -> str:
    return f"{first[:1]}.{last[:1]}.".upper()


def session_blocker(busy: Busy) -> dict[str, Any]:
    zone = busy.timezone
    return {
        "type": "session",
        "session_id": busy.session_id,
        "series_id": busy.series_id,
        "client_initials": busy.client_initials,
        "therapist_id": busy.therapist_id,
        "therapist_name": busy.therapist_name,
        "location_id": busy.office_id,
        "location_name": busy.office_name,
        "room": busy.room,
        "starts_at": busy.starts_at.astimezone(ZoneInfo(zone)).isoformat(),
        "ends_at": busy.ends_at.astimezone(ZoneInfo(zone)).isoformat(),
        "time": format_time_range(busy.starts_at, busy.ends_at, zone),
        "zone": busy.starts_at.astimezone(ZoneInfo(zone)).tzname(),
    }


def session_message(reason: str, blocker: dict[str, Any], here_id: str) -> str:
    """'Dr. Byrne has another session then, with J.Q. (5:00 PM–5:50 PM PST)', or the like."""
    when = f"{blocker['time']} {blocker['zone']}"
    name = blocker["therapist_name"]
    who = blocker.get("client_initials")
    office = blocker.get("location_name") or blocker["location_id"]
    elsewhere = "" if blocker["location_id"] == here_id else f" at {office}"
    if reason == "therapist_busy":
        with_whom = f", with {who}" if who else ""
        return (
            f"{blocker['therapist_name']} has another session then{with_whom}{elsewhere} ({when})"
        )
    if reason == "room_busy":
        whose = f" by {name}" + (f" with {who}" if who else "")
        return f"{blocker['room']} is taken then{whose} ({when})"
    if reason == "client_busy":
        return f"the client has another session then with {name}{elsewhere} ({when})"
    return f"blocked by another session ({when})"


def hours_text(location: Location, day: date) -> str:
    spans = location.hours.get(day.weekday(), ())
    if not spans:
        return "closed all day"
    return ", ".join(f"{format_time(a)}\u2013{format_time(b)}" for a, b in spans)


def hours_blocker(location: Location, day: date) -> dict[str, Any]:
    return {"type": "hours", "location_id": location.id, "open": hours_text(location, day)}


def closed_blocker(location: Location, day: date, reason: str) -> dict[str, Any]:
    """A closed day: the office's own closure, or a public holiday (its name without the tag)."""
    own = location.closure_on(day)
    if own is not None:
        return {"type": "closure", "date": day.isoformat(), "name": own.reason}
    name = reason.removesuffix(" (holiday)")
    return {"type": "holiday", "date": day.isoformat(), "name": name}


def closed_message(blocker: dict[str, Any]) -> str:
    kind = "a holiday" if blocker["type"] == "holiday" else "the office is closed"
    return f"{format_date(date.fromisoformat(blocker['date']))} is {blocker['name']} ({kind})"


def _group_key(conflict: dict[str, Any]) -> tuple[Any, ...]:
    blocker = conflict.get("blocked_by") or {}
    kind = blocker.get("type")
    if kind == "session":
        # A weekly clash with one other series is one problem, however many weeks it hits.
        return (conflict["reason"], kind, blocker.get("series_id"), blocker.get("therapist_id"))
    if kind == "hours":
        return (conflict["reason"], kind, blocker.get("location_id"), blocker.get("open"))
    if kind in ("holiday", "closure"):
        return (conflict["reason"], kind, blocker.get("date"))
    return (conflict["reason"], conflict.get("message"))


def numbers_text(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 5] -> 'sessions 1–3, 5'; [4] -> 'session 4'."""
    ordered = sorted(set(numbers))
    if not ordered:
        return ""
    runs: list[list[int]] = [[ordered[0], ordered[0]]]
    for n in ordered[1:]:
        if n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    parts = [str(a) if a == b else f"{a}\u2013{b}" for a, b in runs]
    return ("session " if len(ordered) == 1 else "sessions ") + ", ".join(parts)


def summarise(conflicts: Iterable[dict[str, Any]]) -> Conflicts:
    """One entry per thing in the way, in the order first met, naming the sessions it blocks."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for conflict in conflicts:
        key = _group_key(conflict)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "reason": conflict["reason"],
                "message": _group_message(conflict),
                "numbers": [],
                "dates": [],
                "blocked_by": _series_level(conflict.get("blocked_by")),
            }
        number = conflict.get("number")
        if isinstance(number, int):
            group["numbers"].append(number)
        when = conflict.get("starts_at") or conflict.get("date")
        if when:
            group["dates"].append(str(when)[:10])
    for group in groups.values():
        group["count"] = max(len(group["numbers"]), len(group["dates"]), 1)
        if group["numbers"]:
            group["message"] += f": {numbers_text(group['numbers'])}"
    return list(groups.values())


def _group_message(conflict: dict[str, Any]) -> str:
    blocker = conflict.get("blocked_by") or {}
    if blocker.get("type") == "session":
        # Without the one week's time: the group may cover weeks on both sides of a DST change.
        message = str(conflict["message"])
        return message.rsplit(" (", 1)[0] if message.endswith(")") else message
    if blocker.get("type") == "hours":
        return f"{conflict['message']} (open {blocker['open']} that day)"
    # Not every conflict is a calendar one (a questionnaire already answered, say).
    return str(conflict.get("message") or conflict["reason"])


def _series_level(blocker: dict[str, Any] | None) -> dict[str, Any] | None:
    if not blocker or blocker.get("type") != "session":
        return blocker
    keep = ("type", "series_id", "client_initials", "therapist_id", "therapist_name")
    return {k: blocker[k] for k in (*keep, "location_id", "location_name", "room") if k in blocker}


def redact(conflicts: Conflicts, may_see_office: Callable[[str], bool]) -> Conflicts:
    """Drop the client of blocking sessions at offices the reader does not reach."""
    out = []
    for conflict in conflicts:
        blocker = conflict.get("blocked_by")
        if (
            not blocker
            or blocker.get("type") != "session"
            or may_see_office(blocker["location_id"])
        ):
            out.append(conflict)
            continue
        hidden = {k: v for k, v in blocker.items() if k not in ("client_initials", "session_id")}
        hidden["series_id"] = None
        changed = {**conflict, "blocked_by": hidden}
        changed.pop("conflicting_session_id", None)
        here = conflict.get("location_id")
        changed["message"] = session_message(conflict["reason"], hidden, str(here))
        out.append(changed)
    return out
