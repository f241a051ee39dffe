"""The audit log: who changed what (every writing use case), and who read which health data.

Changes are recorded with `record` inside the use case's transaction. Reads of a client, a
series, a session, a weekly review or an inbox item are recorded inside the request's own
transaction and committed with the request, so a read whose audit row cannot be written is not
served either: on PostgreSQL a read of one record writes its row in its own statement
(`recording_read`, `recording_row`), as does a list of records (`listed_and_recorded`);
every read on SQLite (and the rare read that records after it) sends one INSERT however many
rows were shown (`record_views`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, cast

from sqlalchemy import JSON, Select, String, Table, bindparam, func, insert, literal, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from ..db.models import Alert, AuditEntry, Client, Series, TherapySession
from ..db.models.inbound import InboxItem
from ..db.types import UTCDateTime, utcnow

# What a read audit row says was viewed; the action is "<what>.viewed".
Viewed = Literal[
    "client", "series", "session", "review", "inbox_item", "measures", "course", "alert"
]
# The entity each kind of read names (a review is read from its session).
_ENTITY: dict[str, str] = {
    "client": "client",
    "series": "series",
    "session": "session",
    "review": "session",
    "inbox_item": "inbox_item",
    "measures": "series",  # a series' questionnaire answers
    "course": "series",  # the course view
    "alert": "alert",
}
VIEW_ACTIONS = tuple(f"{what}.viewed" for what in _ENTITY)


class Names(NamedTuple):
    """What the audit row of a view of one kind of record names."""

    entity_id: Any  # the record's id, as SQL (the INSERT in the read's statement: PostgreSQL)
    client_id: Any  # whose health data it is, as SQL
    client_of: Callable[[Any], int | None]  # the same from the row read (SQLite: an INSERT after)


# A session names its client through its series.
NAMES: dict[type[Any], Names] = {
    Client: Names(Client.id, Client.id, lambda row: row.id),
    Series: Names(Series.id, Series.client_id, lambda row: row.client_id),
    TherapySession: Names(
        TherapySession.id,
        select(Series.client_id).where(Series.id == TherapySession.series_id).scalar_subquery(),
        lambda row: row.series.client_id,
    ),
    InboxItem: Names(InboxItem.id, InboxItem.client_id, lambda row: row.client_id),
    Alert: Names(Alert.id, Alert.client_id, lambda row: row.client_id),
}


def record(
    db: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    series_id: int | None = None,
    **details: Any,
) -> None:
    db.add(
        AuditEntry(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            series_id=series_id,
            details=details,
        )
    )


@dataclass(frozen=True)
class View:
    """One record shown to one user: what it was, its id, and whose health data it is."""

    what: Viewed
    entity_id: object
    client_id: int | None


def record_views(db: Session, actor: str, views: Sequence[View]) -> None:
    """Write one audit row per view, as a single INSERT in the caller's transaction.

    `series_id` stays empty on purpose: it files a row in a series' change trail, which reads
    would bury.
    """
    if not views:
        return
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "at": now,
            "actor": actor,
            "action": f"{v.what}.viewed",
            "entity": _ENTITY[v.what],
            "entity_id": str(v.entity_id),
            "series_id": None,
            "client_id": v.client_id,
            "details": {},
        }
        for v in views
    ]
    if len(rows) == 1:  # most reads: one row through a statement built once, on the Core
        db.connection().execute(_ONE_VIEW, rows[0])  # connection (no ORM result set-up)
    else:
        db.execute(insert(AuditEntry).values(rows))


# A Core insert into the table (not the ORM's bulk insert of the entity), built once: the
# single-row read skips the ORM's bulk machinery and the statement's cache key.
_ONE_VIEW = insert(cast(Table, AuditEntry.__table__))


def recording_read(
    read: Select[Any],
    what: Viewed,
    *,
    entity_id: str,
    client_id: str,
    order_by: Sequence[str] = (),
) -> Select[Any]:
    """`read`, writing the audit row of what it finds in the same statement (PostgreSQL).

    WITH shown AS (read), logged AS (INSERT INTO audit_log ... SELECT ... FROM shown LIMIT 1)
    SELECT shown's columns: one round trip for the read and its audit row, in the request's
    own transaction, instead of a read and then an INSERT. A read that finds nothing (a
    missing or hidden row) writes nothing. `entity_id` and `client_id` name `read`'s columns
    holding the record's id and whose health data it is; the rows come in `order_by`'s
    columns' order (a WITH's own order is not kept). Built once by the caller; the actor and
    the time are the parameters `view_params` gives. SQLite has no data-modifying WITH:
    there a read is followed by `record_views` (no round trip to save in-process).
    """
    shown = read.cte("shown")
    # One record shown, one row, however many rows the read joins.
    logged = _logged(_view_row(what, shown.c[entity_id], shown.c[client_id]).limit(1))
    return select(*shown.c).add_cte(logged).order_by(*(shown.c[name] for name in order_by))


def listed_and_recorded(
    db: Session, read: Select[Any], model: type[Any], what: Viewed, actor: str
) -> list[Any]:
    """The records of `model` a list `read` finds, with one audit row per record for
    `actor`'s view of them (what each row names: `NAMES`).

    On PostgreSQL the rows are written by the read's own statement: WITH logged AS (INSERT
    INTO audit_log ... SELECT ... FROM (read's ids)) SELECT read. Both see the statement's one
    snapshot, so they list the same records, provided `read` orders them completely (a
    LIMIT cut between equal keys could fall differently). On SQLite the read is followed by
    one INSERT (`record_views`).
    """
    names = NAMES[model]
    if db.get_bind().dialect.name != "postgresql":
        found = list(db.scalars(read).unique())
        record_views(db, actor, [View(what, row.id, names.client_of(row)) for row in found])
        return found
    shown = read.with_only_columns(names.entity_id, names.client_id, maintain_column_froms=True)
    id_column, client_column = shown.subquery().c
    logged = _logged(_view_row(what, id_column, client_column))
    return list(db.scalars(read.add_cte(logged), view_params(db, actor)).unique())


def recording_row(row_by_id: Select[Any], what: Viewed, entity_id: Any, client_id: Any) -> Any:
    """`row_by_id` (a SELECT of one record under the user's reach) writing the audit row of the
    user's view of it in the same statement (PostgreSQL, as `recording_read`).

    The INSERT selects from the record's table under the read's own WHERE, so it writes
    exactly when the read finds the row: a missing or hidden one writes nothing. `entity_id`
    and `client_id` are that table's columns naming the record and whose health data it is."""
    where = row_by_id.whereclause
    assert where is not None, "a row by id has a WHERE"
    return row_by_id.add_cte(_logged(_view_row(what, entity_id, client_id).where(where)))


def _view_row(what: Viewed, entity_id: Any, client_id: Any) -> Select[Any]:
    """A view's audit row as a SELECT of `_logged`'s columns, its FROM and WHERE the caller's;
    the actor, the time and the commit's wait are the parameters `view_params` gives.

    Writing the row also sets how the transaction's commit treats the server's log flush,
    for that transaction alone: `synchronous_commit` off when `view_params` says the reader's
    session may skip the wait (see `SKIP_FLUSH_WAIT`), else to the value it already has (no
    change). A row is written only where the WHERE holds, so a read that writes one has set
    it; in the statement, so the request sends no SET of its own."""
    commit_wait = func.coalesce(
        bindparam("view_sync", None, type_=String()), func.current_setting("synchronous_commit")
    )
    return select(
        bindparam("view_at", type_=UTCDateTime()),
        bindparam("view_actor", type_=String()),
        literal(f"{what}.viewed"),
        literal(_ENTITY[what]),
        sql_cast(entity_id, String),
        client_id,
        bindparam("view_details", {}, type_=JSON()),
    ).where(func.set_config("synchronous_commit", commit_wait, True).is_not(None))


def _logged(rows: Select[Any]) -> Any:
    """INSERT INTO audit_log ... `rows`, as the data-modifying WITH named "logged"."""
    columns = ["at", "actor", "action", "entity", "entity_id", "client_id", "details"]
    return insert(cast(Table, AuditEntry.__table__)).from_select(columns, rows).cte("logged")


# Set by the caller on a session whose reads' audit rows may be committed without waiting for
# PostgreSQL to flush its log (the web: a GET or HEAD request, READ_AUDIT_COMMIT=async).
SKIP_FLUSH_WAIT = "ipt_audit_skip_flush_wait"
# Set on such a session once a read's own statement has switched the wait off.
_WAIT_OFF = "ipt_audit_flush_wait_off"


def view_params(db: Session, actor: str) -> dict[str, Any]:
    """The parameters a statement writing a view's audit row (`_view_row`) takes. When they
    switch the commit's wait off, the session is told so (`flush_wait_is_off`): the
    statement they go with does it, and the commit then needs no SET of its own."""
    skip = bool(db.info.get(SKIP_FLUSH_WAIT))
    if skip:
        db.info[_WAIT_OFF] = True
    return {"view_at": utcnow(), "view_actor": actor, "view_sync": "off" if skip else None}


def flush_wait_is_off(db: Session) -> bool:
    """Whether a read's statement in this transaction switched the commit's wait off (see
    `_view_row`); asked once, when the transaction is about to commit."""
    return bool(db.info.pop(_WAIT_OFF, False))


def client_views(db: Session, client_id: int, *, limit: int = 200) -> list[AuditEntry]:
    """Who viewed this client's records (the client, its series, sessions, reviews, texts)."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.client_id == client_id, AuditEntry.action.in_(VIEW_ACTIONS))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(db.scalars(query))
