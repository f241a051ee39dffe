"""Recording what became of each text of a cluster: one text's trouble never loses another's.

`plan` turns the send results into one write per row, the client effects, and the senders
the provider asked to slow down. `write_all` is the common path: one batched UPDATE per
kind of outcome, inside the send transaction that still holds the rows' locks.

If that fails (a provider SID the unique index already holds, a connection terminated in the
middle of a batch, any other database error) the send transaction is rolled back and
`write_each` writes every row again in a fresh transaction, each in a savepoint of its own,
and only while the row is still this worker's "sending" claim. That guard also makes it safe
after a commit whose answer was lost: what was written is not written twice.

In `write_each`, a row whose write fails:
- on a duplicate provider SID (the static Prism mock answers one SID to every send; a real
  provider should never repeat one): the text went out, so it is recorded as "sent" and never
  sent again; the SID stays with the row that recorded it first, this row's `provider_sid`
  stays NULL, `reason` flags it (DUPLICATE_SID_REASON) and `error` keeps the SID. An audit row
  (`message.duplicate_sid`) and a warning naming only message ids record the anomaly.
  Delivery reports for that SID reach the first row only.
- on anything else: it is left "sending", unclaimed, for reconciliation to settle by asking
  the provider (as after a lost reply); if even that cannot be written, its claim times out
  and reconciliation takes it all the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Update, bindparam, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..db.models import OutboundMessage
from ..services import audit
from ..sms.gateway import SendResult, SmsError
from . import outcomes
from .claim import Claimed
from .updates import MESSAGES, updates_by_name

log = logging.getLogger(__name__)
_M = OutboundMessage
DUPLICATE_SID_REASON = "flagged: the provider answered a SID another text already has"


@dataclass(frozen=True)
class RowWrite:
    """One row's outcome: the named UPDATE (`outcomes.record_update`) and its parameters."""

    name: str
    params: dict[str, Any]

    @property
    def message_id(self) -> int:
        return int(self.params["b_id"])


@dataclass(frozen=True)
class Effect:
    client_id: int
    effect: outcomes.ClientEffect
    code: int | None
    error: str


@dataclass
class Recording:
    """Everything one cluster's sends mean for the database."""

    rows: list[RowWrite] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    # Senders the provider told to slow down (429 with Retry-After): seconds to hold off.
    slow_down: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    # (kind, office, outcome) of every text, for the metrics (counted once recorded).
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)

    def count(self, name: str, text: Claimed) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        self.outcomes.append((text.kind, text.office_id, name))


def plan(
    results: list[tuple[Claimed, Any]],
    suppress: list[tuple[Claimed, str]],
    *,
    now: datetime,
    unknown_until: datetime,
) -> Recording:
    """What to write for each row. `now` is the planner's clock (retries are due by it)."""
    rec = Recording()
    for c, reason in suppress:
        rec.rows.append(RowWrite("suppressed", {"b_id": c.id, "b_reason": reason}))
        rec.count("suppressed", c)
    for c, result in results:
        if isinstance(result, SendResult):
            params = {"b_id": c.id, "b_sid": result.sid, "b_pstatus": result.status}
            rec.rows.append(RowWrite("sent", params))
            rec.count("sent", c)
        elif result is None:
            rec.rows.append(RowWrite("halted", {"b_id": c.id}))
            rec.count("released", c)
        elif isinstance(result, SmsError):
            fate = outcomes.failure(result, attempts=c.attempts, expires_at=c.expires_at, now=now)
            values = fate.values
            params = {
                "b_id": c.id,
                "b_status": values["status"],
                "b_next": values.get("next_attempt_at"),
                "b_code": values.get("error_code"),
                "b_error": values.get("error"),
            }
            rec.rows.append(RowWrite("refused", params))
            rec.count("retried" if values["status"] == "pending" else "failed", c)
            if fate.effect is not None:
                rec.effects.append(Effect(c.client_id, fate.effect, result.code, result.message))
            if result.retry_after is not None:
                held = rec.slow_down.get(c.sender, 0.0)
                rec.slow_down[c.sender] = max(held, result.retry_after)
        else:
            log.warning("outcome unknown for message %s: %s", c.id, type(result).__name__)
            rec.rows.append(RowWrite("unknown", _unknown(c.id, unknown_until, result)))
            rec.count("unknown", c)
    return rec


def _unknown(message_id: int, until: datetime, why: object) -> dict[str, Any]:
    return {"b_id": message_id, "b_next": until, "b_error": f"outcome unknown: {why}"[:500]}


def write_all(db: Session, rec: Recording, stamp: datetime) -> None:
    """The common path: one batched UPDATE per kind of outcome, in the send transaction."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rec.rows:
        groups.setdefault(row.name, []).append(row.params)
    for name, params in groups.items():
        outcomes.record_update.execute(db, name, params, {"b_now": stamp})


def write_each(
    sessions: sessionmaker[Session],
    rec: Recording,
    *,
    worker: str,
    stamp: datetime,
    unknown_until: datetime,
) -> int:
    """Write row by row, each in its own savepoint; returns how many rows were flagged."""
    flagged = 0
    with sessions.begin() as db:
        ids = [row.message_id for row in rec.rows]
        still_mine = set(
            db.scalars(
                select(_M.id)
                .where(_M.id.in_(ids), _M.status == "sending", _M.claimed_by == worker)
                .with_for_update()
            )
        )
        for row in rec.rows:
            if row.message_id not in still_mine:
                continue  # written before the failure, or taken over since
            params = {**row.params, "b_now": stamp, "b_worker": worker}
            try:
                with db.begin_nested():
                    db.execute(_guarded(row.name), params)
                continue
            except SQLAlchemyError as exc:
                duplicate = isinstance(exc, IntegrityError) and row.name == "sent"
                if duplicate and _record_duplicate_sid(db, row, stamp, worker):
                    flagged += 1
                    continue
                # The error's text may quote parameters (a provider's message can hold the
                # number): only its type is logged.
                log.warning(
                    "cannot record message %s (%s): left for reconciliation",
                    row.message_id,
                    type(exc).__name__,
                )
            _leave_for_reconciliation(db, row.message_id, stamp, unknown_until, worker)
    return flagged


def _record_duplicate_sid(db: Session, row: RowWrite, stamp: datetime, worker: str) -> bool:
    sid = row.params["b_sid"]
    holder = db.scalar(select(_M.id).where(_M.provider_sid == sid, _M.id != row.message_id))
    if holder is None:
        return False
    params = {
        "b_id": row.message_id,
        "b_now": stamp,
        "b_worker": worker,
        "b_pstatus": row.params["b_pstatus"],
        "b_reason": DUPLICATE_SID_REASON,
        "b_error": duplicate_sid_error(sid, holder),
    }
    try:
        with db.begin_nested():
            db.execute(_guarded("duplicate_sid"), params)
            note_duplicate_sid(db, row.message_id, sid, holder)
    except SQLAlchemyError as exc:
        log.warning("cannot flag message %s (%s)", row.message_id, type(exc).__name__)
        return False
    return True


def duplicate_sid_error(sid: str, holder: int) -> str:
    return f"provider SID {sid} is already recorded for message {holder}"


def note_duplicate_sid(db: Session, message_id: int, sid: str, holder: int) -> None:
    """The anomaly's audit row and log line (message ids only: no number, no words)."""
    audit.record(
        db,
        actor="dispatcher",
        action="message.duplicate_sid",
        entity="outbound_message",
        entity_id=message_id,
        provider_sid=sid,
        already_recorded_for=holder,
    )
    log.warning(
        "message %s: the provider answered SID %s, already recorded for message %s; "
        "recorded as sent and flagged",
        message_id,
        sid,
        holder,
    )


def _leave_for_reconciliation(
    db: Session, message_id: int, stamp: datetime, until: datetime, worker: str
) -> None:
    params = {**_unknown(message_id, until, "its outcome could not be recorded")}
    try:
        with db.begin_nested():
            db.execute(_guarded("unknown"), {**params, "b_now": stamp, "b_worker": worker})
    except SQLAlchemyError as exc:
        # Still claimed by us: reconciliation takes it once the claim times out.
        why = type(exc).__name__
        log.warning("cannot mark message %s for reconciliation (%s)", message_id, why)


_extra = updates_by_name(
    {
        "duplicate_sid": {
            "status": "sent",
            "provider_status": bindparam("b_pstatus"),
            "sent_at": bindparam("b_now"),
            "reason": bindparam("b_reason"),
            "error": bindparam("b_error"),
            "error_code": None,
        }
    }
)


@cache
def _guarded(name: str) -> Update:
    """The named UPDATE, applied only to a row that is still this worker's claim."""
    statement = _extra(name) if name == "duplicate_sid" else outcomes.record_update(name)
    return statement.where(
        MESSAGES.c.status == "sending",
        MESSAGES.c.claimed_by == bindparam("b_worker"),
    )
