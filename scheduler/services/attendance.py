"""Attendance from the day sheet: attended, no-show or late cancel, undoable the same day.

Rules:

- A session can be marked once it has started. Marks can be corrected (attended <-> no-show
  <-> late cancel) at any time; a session cancelled in advance cannot be marked.
- A late cancel is the client cancelling after the start or within the office's
  `late_cancel_hours` before it. It is stored as a client cancellation with `late_cancel` set;
  the session still counts as used (no make-up week) unless staff grant one when cancelling.
- Undo puts a marked session back to scheduled, only on the office-local day the mark was
  recorded (a slip of the finger is fixed at once; later corrections are new marks).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from ..db.models import TherapySession
from ..formats import format_date
from ..locations import Location
from . import audit
from .context import ChangeKind, ServiceContext
from .errors import Invalid
from .session_common import emit, get_session, office_of, touch
from .session_view import AnySession

Mark = Literal["attended", "no_show", "late_cancelled"]
MARKS: tuple[Mark, ...] = ("attended", "no_show", "late_cancelled")


def is_late(location: Location, starts_at: datetime, now: datetime) -> bool:
    """A client cancelling now would be cancelling late (inside the office's window)."""
    return now >= starts_at - timedelta(hours=location.late_cancel_hours)


def mark_of(session: AnySession) -> Mark | None:
    """The attendance recorded for a session, if any."""
    if session.status in ("attended", "no_show"):
        return session.status  # type: ignore[return-value]
    if session.status == "cancelled" and session.late_cancel:
        return "late_cancelled"
    return None


def can_undo(session: TherapySession, location: Location, now: datetime) -> bool:
    """True while the mark may still be taken back: the office-local day it was recorded."""
    if session.marked_at is None or mark_of(session) is None or not session.counts:
        return False
    tz = location.tz
    return session.marked_at.astimezone(tz).date() == now.astimezone(tz).date()


def record(
    db: Session,
    ctx: ServiceContext,
    session_id: int,
    mark: Mark,
    *,
    actor: str,
    reason: str | None = None,
) -> TherapySession:
    """Mark a started session attended, no-show or late-cancelled (audited)."""
    session = get_session(db, session_id, lock=True)
    now = ctx.clock()
    before = mark_of(session) or session.status
    if session.status == "cancelled" and not session.late_cancel:
        raise Invalid({"status": "a session cancelled in advance cannot be marked"})
    if session.status == "cancelled" and not session.counts:
        raise Invalid({"status": "a make-up week replaced this session; it cannot be marked"})
    if session.starts_at > now:
        if mark == "late_cancelled":
            raise Invalid(
                {"status": "has not started yet: cancel it (by the client) instead; inside "
                 "the late window that counts as a late cancel"}
            )  # fmt: skip
        raise Invalid({"status": f"cannot mark {mark} before the session has started"})
    if mark == "late_cancelled":
        session.status, session.cancelled_by, session.late_cancel = "cancelled", "client", True
        session.cancel_reason = reason or session.cancel_reason or "late cancellation"
    else:
        session.status = mark
        session.cancelled_by = session.cancel_reason = None
        session.late_cancel = False
    session.marked_at, session.marked_by = now, actor
    touch(session)
    audit.record(
        db,
        actor=actor,
        action=f"session.{mark}",
        entity="session",
        entity_id=session.id,
        series_id=session.series_id,
        before=before,
        reason=reason,
    )
    emit(db, ctx, "status", session.series, [session], actor)
    return session


def undo(db: Session, ctx: ServiceContext, session_id: int, *, actor: str) -> TherapySession:
    """Put a session marked today back to scheduled (audited)."""
    session = get_session(db, session_id, lock=True)
    location = office_of(ctx, session.office_id)
    before = mark_of(session)
    if before is None or session.marked_at is None:
        raise Invalid(
            {"status": "only an attended, no-show or late-cancelled session can be undone"}
        )
    now = ctx.clock()
    if not can_undo(session, location, now):
        when = format_date(session.marked_at, location.timezone)
        raise Invalid(
            {"status": f"was recorded on {when}; a mark can be undone only on the day it was "
             f"recorded ({location.name} time). Record the right attendance instead"}
        )  # fmt: skip
    # A late cancel taken back before the start: the client was told it was off, so they are
    # told it is on again (a change notice); other undos change nothing the client was told.
    kind: ChangeKind = "status"
    if before == "late_cancelled" and session.starts_at > now:
        kind = "rescheduled"
    session.status = "scheduled"
    session.cancelled_by = session.cancel_reason = None
    session.late_cancel = False
    session.marked_at = session.marked_by = None
    touch(session)
    audit.record(
        db,
        actor=actor,
        action="session.attendance_undone",
        entity="session",
        entity_id=session.id,
        series_id=session.series_id,
        before=before,
    )
    emit(db, ctx, kind, session.series, [session], actor)
    return session


def mark(
    db: Session,
    ctx: ServiceContext,
    session_id: int,
    status: Literal["attended", "no_show"],
    *,
    actor: str,
) -> TherapySession:
    """Attended or no-show (the older call; `record` also takes late_cancelled)."""
    return record(db, ctx, session_id, status, actor=actor)
