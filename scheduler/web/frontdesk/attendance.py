"""Attendance from the day sheet: attended, no-show or late cancel in one click; same-day undo.

Each button is a small form of its own, so the sheet works without scripts; after the change the
desk is taken back to the row it clicked (`next`, a path on this site).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from ...db.models import TherapySession
from ...locations import Location
from ...services import attendance
from ...services.errors import Conflict, Invalid
from ..context import ctx, unit_of_work
from ..reach import allow, allowed, load
from . import access
from .base import page_blueprint
from .forms import AttendanceForm

bp = page_blueprint("attendance", __name__)

LABELS = {"attended": "Attended", "no_show": "No-show", "late_cancelled": "Late cancel"}


@dataclass(frozen=True)
class RowAttendance:
    """What the day sheet offers for one session."""

    session_id: int
    started: bool
    mark: str | None  # attended | no_show | late_cancelled
    may_mark: bool
    may_undo: bool
    cancelled_early: bool

    @property
    def label(self) -> str:
        return LABELS.get(self.mark or "", "")


def for_sheet(
    sessions: list[TherapySession], loc: Location, now: datetime
) -> dict[int, RowAttendance]:
    out = {}
    for s in sessions:
        mark = attendance.mark_of(s)
        may = allowed("mark_attendance", s)
        out[s.id] = RowAttendance(
            session_id=s.id,
            started=s.starts_at <= now,
            mark=mark,
            may_mark=may and s.counts,
            may_undo=may and attendance.can_undo(s, loc, now),
            cancelled_early=s.status == "cancelled" and mark is None,
        )
    return out


def _back(s: TherapySession, target: str | None) -> ResponseReturnValue:
    return redirect(access.safe_next(target) or url_for("series.session_page", session_id=s.id))


def _name(s: TherapySession) -> str:
    c = s.series.client
    return f"{c.first_name} {c.last_name}"


@bp.post("/sessions/<int:session_id>/attendance")
def record(session_id: int) -> ResponseReturnValue:
    s = load(TherapySession, session_id)
    u = allow("mark_attendance", s)
    form = AttendanceForm()
    if not form.validate():
        flash("Attendance not recorded: choose attended, no-show or late cancel.")
        return _back(s, form.next.data)
    try:
        with unit_of_work() as tx:
            mark = cast(attendance.Mark, form.status.data)
            attendance.record(tx, ctx(), session_id, mark, actor=u.email)
    except (Invalid, Conflict) as exc:
        problems = exc.fields.values() if isinstance(exc, Invalid) else [str(exc)]
        flash(f"Attendance not recorded for {_name(s)}: " + "; ".join(problems))
    else:
        flash(f"{_name(s)}: {LABELS[form.status.data].lower()}. You can undo it today.")
    return _back(s, form.next.data)


@bp.post("/sessions/<int:session_id>/attendance/undo")
def undo(session_id: int) -> ResponseReturnValue:
    s = load(TherapySession, session_id)
    u = allow("mark_attendance", s)
    target = request.form.get("next")
    try:
        with unit_of_work() as tx:
            attendance.undo(tx, ctx(), session_id, actor=u.email)
    except Invalid as exc:
        flash(f"Not undone for {_name(s)}: " + "; ".join(exc.fields.values()))
    else:
        flash(f"{_name(s)}: attendance undone; the session is scheduled again.")
    return _back(s, target)
