"""The API's session reads as plain rows: one session, or an office's days (`SessionView`).

Each is one SELECT of the session, the series columns its JSON and measure plan need and the
client's consent columns, within the user's reach (`access.session_filter`: a hidden session
reads exactly like a missing one). One session comes with its texts joined (its text state
costs nothing more). On PostgreSQL both reads also bring the instruments answered, and an
office's days each session's texts as one JSON column, so the JSON needs no other statement;
on SQLite (in-process: no round trip to save) a list's text states and measures cost one
query each (`text_state.states_of_views`, `measures.due_instruments`). Writes keep working on
mapped objects; these are reads only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, select
from sqlalchemy.orm import Session

from ..db.models import Client, MeasureResponse, OutboundMessage, Series, TherapySession, User
from . import access, audit
from .errors import NotFound
from .session_view import ClientConsent, SeriesView, SessionView
from .text_state import TEXT_COLUMNS, SessionTexts, state_of_view, texts_from_json, texts_json

_S = TherapySession
# In SessionView's field order.
_SESSION = (
    _S.id,
    _S.series_id,
    _S.therapist_id,
    _S.office_id,
    _S.number,
    _S.counts,
    _S.is_make_up,
    _S.local_date,
    _S.local_time,
    _S.timezone,
    _S.starts_at,
    _S.ends_at,
    _S.room,
    _S.status,
    _S.cancelled_by,
    _S.cancel_reason,
    _S.late_cancel,
    _S.marked_at,
    _S.confirmed_at,
    _S.weekly_goal,
    _S.revision,
)
_SERIES = (
    Series.id,
    Series.client_id,
    Series.therapist_id,
    Series.session_count,
    Series.kind,
    Series.measure_schedule,
    Series.measure_gad7,
)
_CONSENT = (Client.sms_consent, Client.opted_out_at, Client.phone_undeliverable_at)
_N_SESSION, _N_SERIES = len(_SESSION), len(_SERIES)


def _select() -> Any:
    return (
        select(*_SESSION, *_SERIES, *_CONSENT)
        .join(Series, Series.id == _S.series_id)
        .join(Client, Client.id == Series.client_id)
    )


def _answered_column() -> Any:
    """The instruments answered for the session, as one array column (PostgreSQL): what
    `measures.due_instruments` would otherwise ask for in a statement of its own."""
    r = MeasureResponse
    return select(func.array_agg(r.instrument)).where(r.session_id == _S.id).scalar_subquery()


def _view(
    row: Row[Any],
    texts: list[Sequence[Any]] | None = None,
    answered: frozenset[str] | None = None,
) -> SessionView:
    n, m = _N_SESSION, _N_SESSION + _N_SERIES
    consent, opted_out, undeliverable = row[m : m + len(_CONSENT)]
    # Positional, in the fields' order (checked below, at import): a week builds some fifty.
    return SessionView(  # type: ignore[call-arg]  # mypy cannot count a row's slice
        *row[:n],
        SeriesView(*row[n:m]),
        ClientConsent(bool(consent), opted_out, undeliverable),
        texts,
        answered,
    )


def _answered_set(column: list[str] | None) -> frozenset[str]:
    """What `_answered_column` read (NULL when nothing is answered), as a set."""
    return frozenset(column) if column else frozenset()


# The columns are read into the views by position: their names must line up with the fields.
assert [f.name for f in fields(SessionView)] == [c.key for c in _SESSION] + [
    "series",
    "consent",
    "texts",
    "answered",
]
assert [f.name for f in fields(SeriesView)] == [c.key for c in _SERIES]


# Statements built once per reach (every reach filter depends on the reach alone): a read
# skips building the statement and its cache key. Bounded like access._BY_ID.
_ONE: dict[access.Reach, Any] = {}
_BETWEEN: dict[access.Reach, Any] = {}


def _cached(cache: dict[access.Reach, Any], user: User, build: Any) -> Any:
    key = access.reach(user)
    if (found := cache.get(key)) is None:
        if len(cache) > 2000:
            cache.clear()
        cache[key] = found = build(access.session_filter(user))
    return found


def one(
    db: Session, user: User, session_id: int, *, viewer: str
) -> tuple[SessionView, SessionTexts]:
    """Session `session_id` if the user reaches it, with its text state; NotFound alike when
    missing or hidden. The read records `viewer`'s view of it in the audit log, for the
    caller to commit with the request.

    One statement on PostgreSQL: the session's texts come joined to it (a row each) and the
    audit row is written by the same statement (`audit.recording_read`). SQLite adds the
    audit INSERT after it."""
    conn = db.connection()
    folded = conn.dialect.name == "postgresql"
    statement = _cached(_ONE_RECORDING if folded else _ONE, user, _one_statement(folded))
    params: dict[str, Any] = {"session_id": session_id}
    if folded:
        params |= audit.view_params(db, viewer)
    rows = conn.execute(statement, params).all()
    if not rows:
        raise NotFound("session", session_id)
    # Each row holds one text after the session's columns (none: a row of NULLs); on
    # PostgreSQL the instruments answered come first.
    at = _N_READ + 1 if folded else _N_READ
    texts = [row[at + 1 :] for row in rows if row[at] is not None]
    view = _view(rows[0], texts, _answered_set(rows[0][_N_READ]) if folded else None)
    if not folded:
        audit.record_views(db, viewer, [audit.View("session", view.id, view.series.client_id)])
    return view, state_of_view(view, texts)


_ONE_RECORDING: dict[access.Reach, Any] = {}
_N_READ = _N_SESSION + _N_SERIES + len(_CONSENT)


def _one_statement(recording: bool) -> Any:
    def build(reach: Any) -> Any:
        m = OutboundMessage
        read = _select()
        if recording:  # PostgreSQL
            read = read.add_columns(_answered_column().label("answered"))
        read = (
            read.add_columns(m.id.label("text_id"), *TEXT_COLUMNS)
            .outerjoin(m, and_(m.session_id == _S.id, m.status != "cancelled"))
            .where(_S.id == bindparam("session_id"), reach)
        )
        if not recording:
            return read.order_by(m.id)
        return audit.recording_read(
            read, "session", entity_id="id", client_id="client_id", order_by=("text_id",)
        )

    return build


def between(
    db: Session, user: User, *, start: datetime, end: datetime, office_id: str
) -> list[SessionView]:
    """The sessions at `office_id` starting in [start, end) that the user reaches, in order.

    On PostgreSQL each comes with its texts and the instruments answered for it, in the same
    statement (`SessionView.texts`, `.answered`): the week's JSON then needs no other query.
    SQLite, in-process, has no round trip to save: its views come without them."""
    conn = db.connection()
    folded = conn.dialect.name == "postgresql"
    statement = _cached(_BETWEEN_FOLDED if folded else _BETWEEN, user, _between_statement(folded))
    params = {"start": start, "end": end, "office_id": office_id}
    # .all(): one fetch for every row (iterating the result fetches them one at a time).
    rows = conn.execute(statement, params).all()
    if not folded:
        return [_view(row) for row in rows]
    return [
        _view(row, texts_from_json(row[_N_READ]), _answered_set(row[_N_READ + 1])) for row in rows
    ]


_BETWEEN_FOLDED: dict[access.Reach, Any] = {}


def _between_statement(folded: bool) -> Any:
    def build(reach: Any) -> Any:
        read = _select()
        if folded:
            read = read.add_columns(texts_json(), _answered_column())
        return read.where(
            _S.starts_at >= bindparam("start"),
            _S.starts_at < bindparam("end"),
            _S.office_id == bindparam("office_id"),
            reach,
        ).order_by(_S.starts_at, _S.id)

    return build
