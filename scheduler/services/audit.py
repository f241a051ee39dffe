"""The audit log: who changed what (every writing use case), and who read which health data.

Changes are recorded with `record` inside the use case's transaction. Reads of a client, a
series, a session, a weekly review or an inbox item are recorded with `record_views`, inside the
request's own transaction: one INSERT however many rows were shown, committed with the request,
so a read whose audit row cannot be written is not served either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from ..db.models import AuditEntry
from ..db.types import utcnow

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


def client_views(db: Session, client_id: int, *, limit: int = 200) -> list[AuditEntry]:
    """Who viewed this client's records (the client, its series, sessions, reviews, texts)."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.client_id == client_id, AuditEntry.action.in_(VIEW_ACTIONS))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(db.scalars(query))
