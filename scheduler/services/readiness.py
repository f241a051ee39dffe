"""Is this deployment ready to serve: database, migrations, a live worker, how late texts are.

Used by `GET /readyz` and `ipt-scheduler status`, which say the same thing. Not ready when:

- the database cannot be reached;
- its migrations are behind this code's (a release step that did not run). A database ahead
  of the code (a newer release migrated it while this process still runs the old code, as in
  every rolling deploy) is reported but is not a reason to stop serving;
- no worker has started a dispatch batch for three dispatch intervals. A worker is always
  expected: the Procfile's `worker` on PostgreSQL, and the worker `serve` runs in its own
  process on SQLite; both beat the same way (`beat`, once per dispatch batch).

The age of the oldest due text is reported, never judged here: a backlog is for alerting
(see README "Running in production"), and taking web processes out of a load balancer would
not send texts any faster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..db import migrate
from ..db.models import OutboundMessage, WorkerHeartbeat

_M = OutboundMessage
# How many dispatch intervals without a beat make the worker count as gone.
MISSED_BEATS = 3
# A worker's row is kept this long after its last beat (for `status`), then swept.
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Readiness:
    database: str  # "ok", or why not
    migrations: str  # "current", "behind: ...", "ahead: ...", "unknown"
    worker_heartbeat_age_s: float | None  # None: no worker has ever beaten
    oldest_due_text_age_s: float | None  # None: nothing is due
    problems: list[str] = field(default_factory=list)  # empty when ready

    @property
    def ready(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def beat(db: Session, worker_id: str, now: datetime) -> None:
    """Record that `worker_id` is alive now (one UPDATE, or an INSERT the first time)."""
    H = WorkerHeartbeat
    done = db.execute(update(H).where(H.worker_id == worker_id).values(beat_at=now))
    if not done.rowcount:  # type: ignore[attr-defined]
        db.execute(insert(H).values(worker_id=worker_id, started_at=now, beat_at=now))


def sweep(db: Session, now: datetime) -> int:
    """Forget workers that have not beaten for a day."""
    H = WorkerHeartbeat
    gone = db.execute(delete(H).where(H.beat_at < now - FORGET_AFTER))
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


def oldest_due_age(conn: Connection | Session, now: datetime) -> float | None:
    """Seconds since the oldest text that should have gone out by now became due."""
    # A text waiting for a retry (or deferred out of quiet hours) is due from then, not
    # from its planned time.
    due_from = case((_M.next_attempt_at > _M.send_at, _M.next_attempt_at), else_=_M.send_at)
    oldest = conn.execute(
        select(func.min(due_from)).where(
            _M.status == "pending",
            _M.send_at <= now,
            or_(_M.next_attempt_at.is_(None), _M.next_attempt_at <= now),
        )
    ).scalar()
    return None if oldest is None else max(0.0, (now - _aware(oldest, now)).total_seconds())


def heartbeat_age(db: Connection | Session, now: datetime) -> float | None:
    """Seconds since any worker last began a dispatch batch (None: never)."""
    last = db.execute(select(func.max(WorkerHeartbeat.beat_at))).scalar()
    return None if last is None else (now - _aware(last, now)).total_seconds()


def claims_in_flight(conn: Connection | Session) -> int:
    """Texts claimed by a dispatcher (or with the provider) whose outcome is not recorded."""
    return int(conn.execute(select(func.count()).where(_M.status == "sending")).scalar() or 0)


def check(db: Session, *, now: datetime, dispatch_interval_seconds: int) -> Readiness:
    """Ask the database everything readiness needs (reads only; rolled back afterwards)."""
    try:
        current = migrate.current_revisions(db.connection())
        beat_age = heartbeat_age(db, now)
        due_age = oldest_due_age(db, now)
        db.rollback()
    except SQLAlchemyError as exc:
        db.rollback()
        # The class only: messages may carry host names and user names.
        reason = f"unreachable ({type(exc).__name__})"
        return Readiness(reason, "unknown", None, None, [f"database {reason}"])
    problems: list[str] = []
    migrations = _migrations(current)
    if migrations.startswith("behind"):
        problems.append(f"migrations {migrations}: run `ipt-scheduler db upgrade`")
    limit = MISSED_BEATS * dispatch_interval_seconds
    if beat_age is None:
        problems.append("no worker has ever started a dispatch pass")
    elif beat_age > limit:
        problems.append(f"no worker heartbeat for {beat_age:.0f} s (limit {limit} s)")
    return Readiness(
        "ok",
        migrations,
        None if beat_age is None else round(beat_age, 1),
        None if due_age is None else round(due_age, 1),
        problems,
    )


def _migrations(current: frozenset[str]) -> str:
    heads = migrate.head_revisions()
    if current == heads:
        return "current"
    unknown = current - migrate.known_revisions()
    if unknown:
        return f"ahead: at {', '.join(sorted(unknown))}, this code knows {', '.join(sorted(heads))}"
    at = ", ".join(sorted(current)) or "nothing"
    return f"behind: at {at}, head is {', '.join(sorted(heads))}"


def _aware(value: datetime, now: datetime) -> datetime:
    # UTCDateTime hands back aware values; a bare aggregate on SQLite may not.
    return value if value.tzinfo is not None else value.replace(tzinfo=now.tzinfo)
