"""A series' stored texts as planning reads and writes them.

`series_rows` reads what is stored; `RowWrites` collects the plan's changes and runs them as at
most two statements (one executemany insert, one executemany update), only ever touching
rows that are still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from ..db.models import OutboundMessage, Series, TherapySession
from ..db.models.messaging import DONE_STATUSES, OPEN_STATUSES
from ..db.types import utcnow
from ..domain.reminders import PlannedMessage

_M = OutboundMessage


@dataclass(frozen=True)
class StoredRow:
    """The columns of one stored text that planning compares with its plan."""

    id: int
    session_id: int | None
    kind: str
    status: str
    send_at: datetime | None
    expires_at: datetime | None
    reason: str | None
    session_starts_at: datetime | None
    facts: dict[str, Any] | None = None  # what a notice says (texts.notices)


def series_rows(db: Session, series_id: int) -> list[StoredRow]:
    """The series' texts that are still open or already out of our hands, oldest first."""
    rows = db.execute(
        select(
            _M.id,
            _M.session_id,
            _M.kind,
            _M.status,
            _M.send_at,
            _M.expires_at,
            _M.reason,
            _M.session_starts_at,
            _M.facts,
        )
        .where(_M.series_id == series_id, _M.status.in_((*OPEN_STATUSES, *DONE_STATUSES)))
        .order_by(_M.id)
    ).all()
    return [StoredRow(*r) for r in rows]


class RowWrites:
    """Collects the plan's inserts and updates and runs each kind as one statement."""

    def __init__(self, series: Series, now: datetime) -> None:
        self.series = series
        self.now = now
        self.inserts: list[dict[str, Any]] = []
        self.updates: dict[int, dict[str, Any]] = {}

    def add(
        self, plan: PlannedMessage, session: TherapySession, facts: dict[str, Any] | None = None
    ) -> None:
        stamp = utcnow()
        self.inserts.append(
            {
                "client_id": self.series.client_id,
                "session_id": session.id,
                "series_id": self.series.id,
                "office_id": self.series.office_id,
                "kind": plan.kind,
                "send_at": plan.send_at,
                "expires_at": plan.expires_at,
                "status": "suppressed" if plan.suppressed else "pending",
                "reason": plan.suppressed_reason,
                "attempts": 0,
                "session_revision": session.revision,
                "session_starts_at": session.starts_at,
                "facts": facts,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )

    def _update(self, row: StoredRow, **values: Any) -> None:
        current = {
            "send_at": row.send_at,
            "expires_at": row.expires_at,
            "status": row.status,
            "reason": row.reason,
            "session_starts_at": row.session_starts_at,
            "facts": row.facts,
        }
        merged = {**current, **values}
        if merged != current:
            self.updates[row.id] = merged

    def cancel(self, row: StoredRow, reason: str) -> None:
        self._update(row, status="cancelled", reason=reason)

    def refresh_facts(self, row: StoredRow, facts: dict[str, Any]) -> None:
        """A notice not yet sent now says `facts` (the change is told in it)."""
        self._update(row, facts=facts)

    def change(self, row: StoredRow, plan: PlannedMessage, session: TherapySession) -> None:
        self._update(
            row,
            send_at=plan.send_at,
            expires_at=plan.expires_at,
            status="suppressed" if plan.suppressed else "pending",
            reason=plan.suppressed_reason,
            session_starts_at=session.starts_at,
        )

    def flush(self, db: Session, client_id: int) -> int:
        if self.inserts:
            # render_nulls: the ORM would otherwise leave out None values and split the rows
            # into one statement per run of differently-null rows (suppressed vs pending).
            db.execute(insert(_M).execution_options(render_nulls=True), self.inserts)
        if self.updates:
            table = cast(Table, _M.__table__)
            stamp = utcnow()
            db.execute(
                update(table)
                # Only rows still open: one a dispatcher claimed meanwhile is left to it (the
                # send-time checks stop it if its session moved on).
                .where(
                    table.c.id == bindparam("b_id"),
                    # Spelled out: executemany cannot take an expanding IN.
                    or_(*(table.c.status == status for status in OPEN_STATUSES)),
                )
                .values(
                    send_at=bindparam("b_send_at"),
                    expires_at=bindparam("b_expires_at"),
                    status=bindparam("b_status"),
                    reason=bindparam("b_reason"),
                    session_starts_at=bindparam("b_starts"),
                    facts=bindparam("b_facts"),
                    next_attempt_at=None,
                    updated_at=stamp,
                ),
                [
                    {
                        "b_id": row_id,
                        "b_send_at": v["send_at"],
                        "b_expires_at": v["expires_at"],
                        "b_status": v["status"],
                        "b_reason": v["reason"],
                        "b_starts": v["session_starts_at"],
                        "b_facts": v["facts"],
                    }
                    for row_id, v in self.updates.items()
                ],
            )
        return len(self.inserts) + len(self.updates)
