"""What a notice says, fixed at the change that causes it.

A notice is an event, not state: it tells the client what changed at that moment. Rendering it
later from the sessions as they are by then told lies (a confirmation read from a session 1 that
had moved since spoke of the wrong weekday). So the facts a notice is worded from are computed
here, inside the change's transaction, and stored with the row (`outbound_messages.facts`);
`wording` only formats them, in the client's zone, at send time. Instants are ISO strings in
UTC, dates ISO dates on the office's calendar.

    booking_confirmation  pattern (the series' weekday and time), cadence, count, first, last,
                          skipped (weeks the office is closed), first_id and first_planned
                          (visit 1 as booked), first_change (None, "moved" or "cancelled"),
                          first_moved_to (where visit 1 is now, if moved)
    session_changed       old, new
    session_cancelled     when
    series_changed        count, last
    series_cancelled      count, first

While the confirmation has not gone out, a move or cancellation of its first visit and a new N
are told in the confirmation (its facts are rebuilt from the series), not in a second text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..db.models import Series, TherapySession
from ..db.models.messaging import DONE_STATUSES
from ..services.availability import closed_days
from ..services.context import ScheduleChange, ServiceContext
from .rows import StoredRow

Facts = dict[str, Any]
# Notices about the whole series: they outlive any one session, so they do not expire with one.
SERIES_NOTICE_KINDS = ("series_changed", "series_cancelled")
_TOLD_STATUSES = ("pending", *DONE_STATUSES)


@dataclass(frozen=True)
class Notice:
    """One notice to add: its kind, the session its row belongs to, and what it says."""

    kind: str
    session: TherapySession
    facts: Facts


@dataclass
class NoticePlan:
    add: list[Notice] = field(default_factory=list)
    # Open confirmation rows whose facts the change rebuilt (row id -> facts).
    refresh: dict[int, Facts] = field(default_factory=dict)
    # Open notices the change made moot (row id -> reason).
    cancel: dict[int, str] = field(default_factory=dict)


def _iso(at: datetime) -> str:
    return at.isoformat()


def _active(series: Series) -> list[TherapySession]:
    return sorted(
        (s for s in series.sessions if s.status != "cancelled"), key=lambda s: s.starts_at
    )


def confirmation_facts(
    ctx: ServiceContext, series: Series, before: Mapping[str, Any] | None
) -> Facts | None:
    """The confirmation's facts from the series now; visit 1 as booked is kept from `before`."""
    location = ctx.locations.get(series.office_id)
    active = _active(series)
    if location is None or not active:
        return None
    pattern = datetime.combine(series.first_session_date, series.start_time, location.tz)
    first_id = int(before["first_id"]) if before else active[0].id
    first_planned = str(before["first_planned"]) if before else _iso(active[0].starts_at)
    booked_first = next((s for s in series.sessions if s.id == first_id), None)
    change = moved_to = None
    if booked_first is not None and booked_first.status == "cancelled":
        change = "cancelled"
    elif booked_first is not None and _iso(booked_first.starts_at) != first_planned:
        # Where visit 1 is now, even if that is after visit 2.
        change, moved_to = "moved", _iso(booked_first.starts_at)
    return {
        "pattern": _iso(pattern),
        "cadence": series.cadence_weeks,
        "count": series.session_count,
        "first": _iso(active[0].starts_at),
        "last": _iso(active[-1].starts_at),
        "skipped": _closed_weeks(ctx, series, active),
        "first_id": first_id,
        "first_planned": first_planned,
        "first_change": change,
        "first_moved_to": moved_to,
    }


def _closed_weeks(
    ctx: ServiceContext, series: Series, active: Sequence[TherapySession]
) -> list[str]:
    """The series' weeks, first to last visit, that have no visit because the office is closed."""
    location = ctx.locations.get(series.office_id)
    assert location is not None  # checked by the caller
    first, last = series.first_session_date, max(s.local_date for s in active)
    closed = closed_days(location, range(first.year, last.year + 1))
    taken = {s.local_date for s in series.sessions}
    step = timedelta(weeks=max(series.cadence_weeks, 1))
    days, day = [], first
    while day <= last:
        if day not in taken and closed(day) is not None:
            days.append(day.isoformat())
        day += step
    return days


def plan_notices(
    ctx: ServiceContext, change: ScheduleChange, rows: Sequence[StoredRow]
) -> NoticePlan:
    """The notices `change` calls for, given the series' stored texts."""
    series, sessions = change.series, list(change.sessions)
    plan = NoticePlan()
    if change.kind == "booked":
        facts = confirmation_facts(ctx, series, None)
        if facts is not None:
            plan.add.append(Notice("booking_confirmation", _active(series)[0], facts))
        return plan
    confirmation = next(
        (r for r in rows if r.kind == "booking_confirmation" and r.status == "pending"), None
    )
    folded = False
    if confirmation is not None and change.kind != "series_cancelled":
        facts = confirmation_facts(ctx, series, confirmation.facts)
        if facts is not None:
            plan.refresh[confirmation.id] = facts
            first_id = (confirmation.facts or {}).get("first_id")
            # The confirmation tells a change to its first visit, or to N, itself.
            folded = change.kind == "renegotiated" or bool(
                confirmation.facts and sessions and sessions[0].id == first_id
            )
    if folded or not sessions:
        return plan
    if change.kind == "rescheduled":
        _moved(plan, change, rows, sessions[0])
    elif change.kind == "cancelled":
        s = sessions[0]
        plan.add.append(Notice("session_cancelled", s, {"when": _iso(s.starts_at)}))
    elif change.kind == "renegotiated":
        active = _active(series)
        if active and _told_count(rows) != series.session_count:
            facts = {"count": series.session_count, "last": _iso(active[-1].starts_at)}
            plan.add.append(Notice("series_changed", active[-1], facts))
    elif change.kind == "series_cancelled":
        # One notice for the rest of the series, not one per cancelled week.
        first = min(sessions, key=lambda s: s.starts_at)
        facts = {"count": len(sessions), "first": _iso(first.starts_at)}
        plan.add.append(Notice("series_cancelled", first, facts))
    return plan


def _moved(
    plan: NoticePlan, change: ScheduleChange, rows: Sequence[StoredRow], s: TherapySession
) -> None:
    """A move notice with the old time the client knows: that of a notice not yet sent, if
    one is waiting, else where the session was before this change."""
    waiting = [
        r
        for r in rows
        if r.kind == "session_changed" and r.status == "pending" and r.session_id == s.id
    ]
    old = change.previous.get(s.id)
    known = _iso(old) if old is not None else None
    if waiting and waiting[-1].facts and waiting[-1].facts.get("old"):
        known = str(waiting[-1].facts["old"])
    if known == _iso(s.starts_at):
        # Moved back before the client heard of the move: the waiting notice is moot.
        for r in waiting:
            plan.cancel[r.id] = "the session is back at the time the client knows"
        return
    plan.add.append(Notice("session_changed", s, {"old": known, "new": _iso(s.starts_at)}))


def _told_count(rows: Sequence[StoredRow]) -> int | None:
    """The number of visits the client was last told (or is about to be told)."""
    told = [
        r
        for r in rows
        if r.kind in ("booking_confirmation", "series_changed")
        and r.status in _TOLD_STATUSES
        and r.facts
        and "count" in r.facts
    ]
    return int(told[-1].facts["count"]) if told and told[-1].facts else None
