"""Moving one session from its page: the form's choices and the preview shown before saving.

The checks are `services.session_moves` (the API's preview and PATCH use the same); this
module only fills the form (from the session, a drop in the grid, or what was typed) and puts
the service's answer in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask import request
from sqlalchemy.orm import Session
from wtforms.fields.choices import SelectChoice

from ... import formats
from ...db.models import TherapySession
from ...inputs import day_arg
from ...services import access as policy
from ...services import session_moves
from ...services.conflicts import redact
from ...services.errors import Invalid, NotFound
from ..reach import viewer
from . import reads
from .forms import RescheduleForm

# Service field names -> the form field that shows the problem.
FIELD_FOR = {
    "starts_at_local": "new_time",
    "room": "room",
    "therapist_id": "therapist_id",
    "status": None,
    "location_id": None,
    "body": None,
}


@dataclass
class MoveView:
    ok: bool
    when: str
    room: str
    therapist: str
    conflicts: list[str] = field(default_factory=list)


def form_for(db: Session, s: TherapySession, *, formdata: Any = None) -> RescheduleForm:
    """The move form with the office's rooms and therapists; filled from the session or a drop."""
    loc_rooms = _rooms(s)
    people = reads.office_therapists(
        db,
        s.office_id,
        with_ids=[s.therapist_id],
        where=policy.therapist_filter(viewer()),
        with_offices=False,  # the form lists names only
    )
    if formdata is None:
        form = RescheduleForm(
            formdata=None,
            new_date=_arg_date() or s.local_date,
            new_time=_arg_time() or s.local_time,
            room=s.room or "",
            therapist_id=s.therapist_id,
        )
        wanted = request.args.get("therapist_id", "")
        if wanted.isdigit() and int(wanted) in {t.id for t in people}:
            form.therapist_id.data = int(wanted)
    else:
        form = RescheduleForm(formdata=formdata)
    form.room.choices = [SelectChoice("", "No particular room")] + [
        SelectChoice(r, r) for r in loc_rooms
    ]
    form.therapist_id.choices = [SelectChoice(str(t.id), t.name) for t in people]
    return form


def dropped() -> bool:
    """Did the page open from a block dropped on a free slot of the grid?"""
    return bool(request.args.get("new_date") or request.args.get("new_time"))


def _arg_date() -> date | None:
    return day_arg(request.args.get("new_date"))


def _arg_time() -> time | None:
    try:
        return time.fromisoformat(request.args.get("new_time", ""))
    except ValueError:
        return None


def _rooms(s: TherapySession) -> tuple[str, ...]:
    from ..context import ctx

    loc = ctx().locations.get(s.office_id)
    return loc.rooms if loc else ()


def change_of(form: RescheduleForm) -> session_moves.MoveRequest:
    """What the form asks for, as the service's request (Invalid names a missing field)."""
    if form.new_date.data is None or form.new_time.data is None:
        raise Invalid({"starts_at_local": "choose a date and a time"})
    when = datetime.combine(form.new_date.data, form.new_time.data.replace(second=0))
    return session_moves.MoveRequest(
        starts_at_local=when,
        room=form.room.data or None,
        therapist_id=form.therapist_id.data or None,
    )


def show_refusal(form: RescheduleForm, exc: Invalid | NotFound) -> None:
    fields = exc.fields if isinstance(exc, Invalid) else {exc.field or "body": "not found"}
    for key, problem in fields.items():
        name = FIELD_FOR.get(key)
        target = getattr(form, name, None) if name else None
        message = formats.field_error(key, problem)
        if target is None:
            form.form_errors.append(message)
        else:
            target.errors = [*target.errors, message]


def preview(
    db: Session, s: TherapySession, form: RescheduleForm, names: dict[int, str]
) -> MoveView | None:
    """The session as it would be, and every conflict; None (errors on the form) if invalid."""
    from ..context import ctx

    try:
        result = session_moves.preview_move(db, ctx(), s.id, change_of(form))
    except (Invalid, NotFound) as exc:
        show_refusal(form, exc)
        return None
    shown = redact(result.conflicts, lambda office: policy.reach(viewer()).office(office))
    return MoveView(
        ok=result.ok,
        when=formats.format_when(result.starts_at, result.location.timezone),
        room=result.room or "no particular room",
        therapist=names.get(result.therapist_id, ""),
        conflicts=[str(c.get("message") or c.get("reason")) for c in shown],
    )
