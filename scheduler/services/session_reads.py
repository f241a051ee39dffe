"""The API's session reads as plain rows: one session, or an office's days (`SessionView`).

Each is one SELECT of the session, the series columns its JSON and measure plan need and the
client's consent columns, within the user's reach (`access.session_filter`: a hidden session
reads exactly like a missing one). One session comes with its texts joined (its text state
costs nothing more). On PostgreSQL both reads also bring the instruments answered, and an
office's days each session's texts as one JSON column, so the JSON needs no other statement;
on SQLite (in-process: no round trip to save) a list's text states and measures cost one
query each (`text_state.states_of_views`, `measures.due_instruments`). Writes keep working on
mapped objects; these are reads only.

`between_version` fingerprints what `between` would read (PostgreSQL), so that an office's
week can be answered from its rendering kept in the process while nothing in it has changed
(`web.render_cache`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Text, and_, bindparam, case, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from ..db.models import (
    Client,
    MeasureResponse,
    OutboundMessage,
    PhoneConsent,
    Series,
    TherapySession,
    User,
)
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


def between_version(
    db: Session, user: User, *, start: datetime, end: datetime, office_id: str
) -> str | None:
    """A fingerprint of everything `between` reads for the user; None on SQLite, and in a
    transaction that has written anything (see `_version_statement`).

    It names each session `between` would return with the row version (`xmin`: the
    transaction that wrote the row as it now stands) of the session, its series, its client,
    the client's number's consent state, and every text and questionnaire of the session.
    Whatever writes any of those rows (the desk, the worker's sends, an inbound STOP, a
    migration's UPDATE) gives it a new version, and a session entering or leaving the range
    or the user's reach changes the list: equal fingerprints mean `between` reads the same.
    A cached rendering is served against it (`web.render_cache`) and never outlives a change.

    Read it before the rows it vouches for: a change committed between the two statements
    then only stores the newer rows under the older fingerprint, which no later read gives.
    """
    conn = db.connection()
    if conn.dialect.name != "postgresql":
        return None
    statement = _cached(_VERSION, user, _version_statement)
    params = {"start": start, "end": end, "office_id": office_id}
    found = conn.execute(statement, params).scalar_one()
    return None if found is None else str(found)


_VERSION: dict[access.Reach, Any] = {}


def _row_version(table: Any) -> Any:
    # A system column: not mapped, so named in SQL. Its text is the writing transaction's id.
    return literal_column(f"{table.name}.xmin::text")


def _versions_of(model: Any, key: Any, correlated: Any) -> Any:
    """Each `model` row of the session (`key == correlated`) as "id:xmin", in id order; '-'
    when there is none."""
    table = model.__table__
    pairs = func.string_agg(
        cast(table.c.id, Text) + ":" + _row_version(table),
        aggregate_order_by(literal(","), table.c.id),
    )
    return func.coalesce(select(pairs).where(key == correlated).scalar_subquery(), "-")


def _sha256_hex(value: Any) -> Any:
    # SHA-256, not md5(): a server built for FIPS refuses MD5.
    return func.encode(func.sha256(func.convert_to(value, "UTF8")), "hex")


def _version_statement(reach: Any) -> Any:
    consent_version = (
        select(_row_version(PhoneConsent.__table__))
        .where(PhoneConsent.phone == Client.phone)
        .scalar_subquery()
    )
    row = func.concat_ws(
        ",",
        _S.id,
        _row_version(TherapySession.__table__),
        _row_version(Series.__table__),
        _row_version(Client.__table__),
        func.coalesce(consent_version, "-"),
        _versions_of(OutboundMessage, OutboundMessage.session_id, _S.id),
        _versions_of(MeasureResponse, MeasureResponse.session_id, _S.id),
    )
    every = func.string_agg(row, aggregate_order_by(literal(";"), _S.starts_at, _S.id))
    # NULL (no fingerprint) once this transaction has written anything: a row it wrote twice
    # keeps one version number for both contents, so its own writes cannot be told apart.
    own_writes = func.txid_current_if_assigned().is_not(None)
    return (
        select(case((own_writes, None), else_=func.coalesce(_sha256_hex(every), "none")))
        .select_from(_S)
        .join(Series, Series.id == _S.series_id)
        .join(Client, Client.id == Series.client_id)
        .where(
            _S.starts_at >= bindparam("start"),
            _S.starts_at < bindparam("end"),
            _S.office_id == bindparam("office_id"),
            reach,
        )
    )
