"""A session as the schedule's reads show it: plain values, not a mapped object.

The API's session reads (one session, an office's days) answer from Core rows
(`services.session_reads`) instead of ORM objects: an office's week is some fifty sessions,
and building a mapped session and series for each cost as much as the rest of the request.
`SessionView` carries the same attribute names as `db.models.TherapySession` (and `series`
those of `Series` that a session's JSON, text state and measure plan read), so the
serialiser, `text_state.state_of`, `attendance.mark_of` and `measures.due_instruments` take
either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, NamedTuple

from ..db.models import Series, TherapySession
from ..domain.phases import course_phase


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and a week's list
# builds some fifty of these. Nothing writes to them.
@dataclass(slots=True)
class SeriesView:
    """What a session's reads need of its series."""

    id: int
    client_id: int
    therapist_id: int
    session_count: int
    kind: str
    measure_schedule: str
    measure_gad7: bool


class ClientConsent(NamedTuple):
    """The client's texting consent, as a session's text state reads it."""

    sms_consent: bool
    opted_out_at: datetime | None
    undeliverable_at: datetime | None


@dataclass(slots=True)
class SessionView:
    """One session with its series and its client's consent (the field order is the query's)."""

    id: int
    series_id: int
    therapist_id: int
    office_id: str
    number: int
    counts: bool
    is_make_up: bool
    local_date: date
    local_time: time
    timezone: str
    starts_at: datetime
    ends_at: datetime
    room: str | None
    status: str
    cancelled_by: str | None
    cancel_reason: str | None
    late_cancel: bool
    marked_at: datetime | None
    confirmed_at: datetime | None
    weekly_goal: str | None
    revision: int
    series: SeriesView
    consent: ClientConsent
    # What a read may bring along in its own statement (PostgreSQL, `services.session_reads`);
    # None when it did not, and `text_state.states_of_views` and `measures.due_instruments`
    # ask in a query of their own. `texts`: rows of `text_state.TEXT_COLUMNS`, cancelled texts
    # left out, in the order they were made; `answered`: the instruments answered for it.
    texts: list[Sequence[Any]] | None = None
    answered: frozenset[str] | None = None

    @property
    def phase(self) -> str:
        # As TherapySession.phase: a session cancelled when N was lowered may carry a number
        # above the new N.
        total = self.series.session_count
        return course_phase(self.series.kind, min(self.number, total), total)


# What the session reads take: a mapped session (pages, writes) or a view (the API's reads).
AnySession = TherapySession | SessionView
AnySeries = Series | SeriesView
