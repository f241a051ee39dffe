"""Texts at a glance: one state per session, from its texts and the client's consent.

A day sheet row shows one word instead of every reminder line. The state is the first of
these that holds (most useful to the desk first):

1. confirmed: the client confirmed this session by text (nothing to do, whatever else holds);
2. opted_out: the client's number texted STOP (or Twilio reported an opt-out): no texts go;
3. no_consent: no consent to text reminders is on file: no texts go;
4. undeliverable: the phone cannot receive texts: fix the number;
5. failed: the latest text about this session that was tried failed;
6. reminded: a reminder about this session went out (sent or delivered), not yet confirmed;
7. pending: a reminder is planned and not yet due;
8. none: nothing applies (a cancelled session, or no reminder planned).

Details on demand: each state carries a one-line `detail`; every text of a session is
listed by `messaging.messages_for_sessions` (GET /api/v1/sessions/{id}/messages).

Cost: one query for any number of sessions (their texts and their clients' consents); none
when the page has read both already (`states_from_texts`); for sessions read as views with
their consent (`services.session_reads`), one query for their texts alone, or none when the
texts came joined to the one session read (`state_of_view`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

import orjson
from sqlalchemy import Label, Text, and_, cast, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from ..db.models import Client, OutboundMessage, Series, TherapySession
from ..db.sql import one_of
from ..formats import format_when
from .session_view import ClientConsent, SessionView

TextState = Literal[
    "confirmed",
    "opted_out",
    "no_consent",
    "undeliverable",
    "failed",
    "reminded",
    "pending",
    "none",
]
TEXT_STATES: tuple[TextState, ...] = TextState.__args__  # type: ignore[attr-defined]
REMINDER_KINDS = ("reminder_24h", "reminder_2h")
TRIED = ("sending", "sent", "delivered", "failed")
LABELS = {
    "confirmed": "Confirmed",
    "opted_out": "Opted out",
    "no_consent": "No text consent",
    "undeliverable": "Undeliverable",
    "failed": "Text failed",
    "reminded": "Reminded",
    "pending": "Reminder planned",
    "none": "No texts",
}


@dataclass(frozen=True)
class SessionTexts:
    state: TextState
    detail: str

    @property
    def label(self) -> str:
        return LABELS[self.state]

    def as_json(self) -> dict[str, Any]:
        return {"state": self.state, "label": self.label, "detail": self.detail}


# Tuples, not frozen dataclasses: a week's list makes hundreds of these per request.
class _Text(NamedTuple):
    kind: str
    status: str
    at: datetime | None
    error_code: int | None
    error: str | None


def _rows_statement(dialect: str) -> Any:
    """Each session with its client's consent, and its texts (none: one row of NULLs), so a
    single read costs one round trip here, not one for texts and one for consents.

    Built once per dialect: a read skips building the statement and its cache key."""
    if (found := _ROWS.get(dialect)) is not None:
        return found
    m = OutboundMessage
    found = (
        select(
            TherapySession.id.label("sid"),
            Client.sms_consent,
            Client.opted_out_at,
            Client.phone_undeliverable_at,
            m.id.label("message_id"),
            *TEXT_COLUMNS,
        )
        .join(
            Series,
            and_(Series.id == TherapySession.series_id, one_of(dialect, Series.id, "series_ids")),
        )
        .join(Client, Client.id == Series.client_id)
        # The id list again on the texts' side: each table is then read by its index.
        .outerjoin(
            m,
            and_(
                m.session_id == TherapySession.id,
                one_of(dialect, m.session_id, "ids"),
                m.status != "cancelled",
            ),
        )
        .where(one_of(dialect, TherapySession.id, "ids"))
        .order_by(TherapySession.id, m.id)
    )
    _ROWS[dialect] = found
    return found


_ROWS: dict[str, Any] = {}


def text_states(db: Session, sessions: Sequence[TherapySession]) -> dict[int, SessionTexts]:
    """Each session's text state, in one query whatever the number of sessions."""
    if not sessions:
        return {}
    ids = [s.id for s in sessions]
    series_ids = sorted({s.series_id for s in sessions})
    texts: dict[int, list[_Text]] = defaultdict(list)
    consents: dict[int, ClientConsent] = {}
    conn = db.connection()
    # On the Core connection: plain rows, without the ORM's result set-up (no entities here).
    rows = conn.execute(
        _rows_statement(conn.dialect.name), {"ids": ids, "series_ids": series_ids}
    ).all()
    # Unpacked in the select's column order: cheaper than reading each row's fields by name.
    for sid, consent, opted_out, undeliverable, message, *text in rows:
        if sid not in consents:
            consents[sid] = ClientConsent(bool(consent), opted_out, undeliverable)
        if message is not None:
            texts[sid].append(_Text(*text))
    return {s.id: state_of(s, texts.get(s.id, []), consents[s.id], s.timezone) for s in sessions}


def states_of_views(db: Session, views: Sequence[SessionView]) -> dict[int, SessionTexts]:
    """`text_states` of sessions read with their client's consent (`services.session_reads`):
    from the texts the read brought (`SessionView.texts`), else one query for the texts of
    those that came without."""
    texts: dict[int, list[Sequence[Any]]] = defaultdict(list)
    if missing := [v.id for v in views if v.texts is None]:
        conn = db.connection()
        # .all(): one fetch for every row (iterating the result fetches them one at a time).
        for row in conn.execute(_texts_statement(conn.dialect.name), {"ids": missing}).all():
            texts[row[0]].append(row[1:])
    return {
        v.id: state_of_view(v, v.texts if v.texts is not None else texts.get(v.id, []))
        for v in views
    }


# What a text state reads of each text, in `_Text`'s order (`state_of_view` takes such rows):
# when it went, or else when it is due, comes as one column (a week reads some 150 texts).
TEXT_COLUMNS = (
    OutboundMessage.kind,
    OutboundMessage.status,
    func.coalesce(OutboundMessage.sent_at, OutboundMessage.send_at).label("text_at"),
    OutboundMessage.error_code,
    OutboundMessage.error,
)
assert [c.key for c in TEXT_COLUMNS] == ["kind", "status", "text_at", "error_code", "error"]


def texts_json() -> Any:
    """A session's texts as one column (PostgreSQL): a JSON array of `TEXT_COLUMNS` rows,
    cancelled ones left out, in the order they were made, correlated on `TherapySession.id`.

    A list read adds it to its own SELECT (`services.session_reads`) instead of asking for
    the texts in a statement of its own: one round trip less, and no row per text to build.
    Sent as text, for `texts_from_json` to parse."""
    m = OutboundMessage
    values = [column.element if isinstance(column, Label) else column for column in TEXT_COLUMNS]
    rows = func.json_agg(aggregate_order_by(func.json_build_array(*values), m.id))
    found = select(rows).where(m.session_id == TherapySession.id, m.status != "cancelled")
    return cast(found.scalar_subquery(), Text)


def texts_from_json(raw: str | None) -> list[Sequence[Any]]:
    """`texts_json`'s column as `TEXT_COLUMNS` rows (NULL: the session has no texts). JSON
    carries the time as ISO 8601 text with its offset."""
    if raw is None:
        return []
    return [
        (kind, status, datetime.fromisoformat(at) if at else None, code, error)
        for kind, status, at, code, error in orjson.loads(raw)
    ]


def state_of_view(view: SessionView, rows: Sequence[Sequence[Any]]) -> SessionTexts:
    """The text state of a session read as a view, from its texts' `TEXT_COLUMNS` (cancelled
    ones left out, in the order they were made)."""
    return state_of(view, [_Text(*row) for row in rows], view.consent, view.timezone)


def _texts_statement(dialect: str) -> Any:
    """The texts of some sessions, cancelled ones left out, in the order they were made (as
    `_rows_statement` reads them). Built once per dialect."""
    if (found := _TEXTS.get(dialect)) is None:
        m = OutboundMessage
        found = (
            select(m.session_id, *TEXT_COLUMNS)
            .where(one_of(dialect, m.session_id, "ids"), m.status != "cancelled")
            .order_by(m.session_id, m.id)
        )
        _TEXTS[dialect] = found
    return found


_TEXTS: dict[str, Any] = {}


def states_from_texts(
    sessions: Sequence[TherapySession], texts: Mapping[int, Sequence[OutboundMessage]]
) -> dict[int, SessionTexts]:
    """`text_states` without its query, for a page that reads every text of its sessions anyway
    (`texts.history.messages_for_sessions`) and loaded each session's client with it
    (`series.client`, whose consent columns come with the row): the same states from those."""
    found = {}
    for s in sessions:
        client = s.series.client
        consent = ClientConsent(
            bool(client.sms_consent), client.opted_out_at, client.phone_undeliverable_at
        )
        # As `text_states` reads them: cancelled texts left out, in the order they were made.
        kept = sorted((m for m in texts.get(s.id, ()) if m.status != "cancelled"), key=_by_id)
        rows = [
            _Text(m.kind, m.status, m.sent_at or m.send_at, m.error_code, m.error) for m in kept
        ]
        found[s.id] = state_of(s, rows, consent, s.timezone)
    return found


def _by_id(message: OutboundMessage) -> int:
    return message.id


def state_of(
    session: TherapySession | SessionView, texts: list[_Text], consent: ClientConsent, zone: str
) -> SessionTexts:
    """The one state of the module docstring's list that comes first."""
    if session.confirmed_at is not None:
        return SessionTexts(
            "confirmed", f"confirmed by text {format_when(session.confirmed_at, zone)}"
        )
    if session.status == "cancelled":
        return SessionTexts("none", "the session is cancelled")
    if consent.opted_out_at is not None:
        when = format_when(consent.opted_out_at, zone)
        return SessionTexts("opted_out", f"the client's number opted out of texts {when}")
    if not consent.sms_consent:
        return SessionTexts("no_consent", "no consent to text reminders is on file")
    if consent.undeliverable_at is not None:
        return SessionTexts("undeliverable", "texts to the client's phone cannot be delivered")
    tried = [t for t in texts if t.status in TRIED]
    if tried and tried[-1].status == "failed":
        last = tried[-1]
        why = f" (error {last.error_code})" if last.error_code else ""
        return SessionTexts("failed", f"{_kind(last.kind)} failed{why}")
    sent = [t for t in tried if t.kind in REMINDER_KINDS and t.status in ("sent", "delivered")]
    if sent:
        last = sent[-1]
        when = f" {format_when(last.at, zone)}" if last.at else ""
        return SessionTexts("reminded", f"{_kind(last.kind)} {last.status}{when}")
    planned = [t for t in texts if t.kind in REMINDER_KINDS and t.status == "pending"]
    if planned:
        first = planned[0]
        when = f" for {format_when(first.at, zone)}" if first.at else ""
        return SessionTexts("pending", f"{_kind(first.kind)} planned{when}")
    return SessionTexts("none", "no reminder is planned for this session")


def _kind(kind: str) -> str:
    return {
        "reminder_24h": "reminder",
        "reminder_2h": "last reminder",
        "booking_confirmation": "booking confirmation",
        "session_changed": "change notice",
        "session_cancelled": "cancellation notice",
        "series_changed": "new visit count notice",
        "series_cancelled": "series cancellation notice",
        "goal_prompt": "weekly prompt",
    }.get(kind, kind.replace("_", " "))
