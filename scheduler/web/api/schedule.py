"""Series and sessions: book, read, list an office's days, change one session or a series."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from ...db.models import Series, TherapySession
from ...services import attendance, booking, session_changes, session_moves
from ...services.errors import Forbidden, Invalid, NotFound
from ...services.queries import local_day_bounds, sessions_between
from ...services.session_changes import CancelledBy
from ...services.text_state import text_states
from ..context import ctx, db, unit_of_work
from . import serialize
from .auth import current_user, require, require_access, require_office
from .base import blueprint
from .schemas import SeriesIn, SeriesPatch, SessionPatch, parse

MAX_LIST_DAYS = 62


_Row = TypeVar("_Row", Series, TherapySession)


def _load(model: type[_Row], what: str, row_id: int) -> _Row:
    """The series or session `row_id`, if the user may see it (else NotFound or Forbidden)."""
    row = db().get(model, row_id)
    if row is None:
        raise NotFound(what, row_id)
    require_access(row.office_id, row.therapist_id)
    return row


def _who_cancelled(cancelled_by: CancelledBy | None, hint: str) -> CancelledBy:
    """The required `cancelled_by` of a cancellation, or Invalid with `hint`."""
    if cancelled_by is None:
        raise Invalid({"cancelled_by": hint})
    return cancelled_by


@blueprint.post("/series")
def create_series() -> ResponseReturnValue:
    user = require("admin", "front_desk")
    body = parse(SeriesIn)
    if ctx().locations.get(body.location_id):
        require_office(body.location_id)
    req = booking.SeriesRequest(**body.model_dump())
    with unit_of_work() as session:
        result = booking.book_series(session, ctx(), req, actor=user.email)
        out = serialize.series(
            result.series, result.skipped, text_states(session, result.series.sessions)
        )
    return jsonify(out), 201


@blueprint.get("/series/<int:series_id>")
def get_series(series_id: int) -> ResponseReturnValue:
    series = _load(Series, "series", series_id)
    return jsonify(serialize.series(series, texts=text_states(db(), series.sessions)))


@blueprint.patch("/series/<int:series_id>")
def change_series(series_id: int) -> ResponseReturnValue:
    user = require("admin", "front_desk")
    body = parse(SeriesPatch)
    _load(Series, "series", series_id)
    if (body.session_count is None) == (body.status is None):
        raise Invalid({"body": "give exactly one of session_count or status"})
    with unit_of_work() as session:
        if body.session_count is not None:
            series = session_changes.renegotiate(
                session, ctx(), series_id, body.session_count, actor=user.email
            )
        else:
            series = session_changes.cancel_rest(
                session,
                ctx(),
                series_id,
                cancelled_by=_who_cancelled(body.cancelled_by, "is required to cancel a series"),
                reason=body.reason,
                actor=user.email,
            )
        out = serialize.series(series, texts=text_states(session, series.sessions))
    return jsonify(out)


@blueprint.get("/sessions")
def list_sessions() -> ResponseReturnValue:
    args = request.args
    location_id = args.get("location_id")
    if not location_id:
        raise Invalid({"location_id": "is required"})
    loc = ctx().locations.get(location_id)
    if loc is None:
        raise Invalid({"location_id": f"unknown location {location_id!r}"})
    user = current_user()
    therapist_id = user.therapist_id if user.role == "therapist" else None
    if user.role != "therapist":
        require_office(location_id)
    problems = {}
    days: dict[str, date] = {}
    for key in ("from", "to"):
        raw = args.get(key)
        try:
            days[key] = date.fromisoformat(raw) if raw else ctx().clock().astimezone(loc.tz).date()
        except ValueError:
            problems[key] = "must be a date like 2027-03-01"
    if problems:
        raise Invalid(problems)
    if days["to"] < days["from"]:
        raise Invalid({"to": "is before from"})
    if (days["to"] - days["from"]).days > MAX_LIST_DAYS:
        raise Invalid({"to": f"at most {MAX_LIST_DAYS} days after from"})
    start, end = local_day_bounds(loc.timezone, days["from"], days["to"])
    found = sessions_between(
        db(), start=start, end=end, office_id=location_id, therapist_id=therapist_id
    )
    texts = text_states(db(), found)
    return jsonify([serialize.session(s, texts[s.id]) for s in found])


@blueprint.get("/sessions/<int:session_id>")
def get_session(session_id: int) -> ResponseReturnValue:
    return jsonify(session_json(db(), _load(TherapySession, "session", session_id)))


def session_json(session: Session, s: TherapySession) -> dict[str, Any]:
    return serialize.session(s, text_states(session, [s])[s.id])


MOVE_FIELDS = ("starts_at_local", "room", "therapist_id")
THERAPIST_STATUSES = ("attended", "no_show", "late_cancelled", "scheduled")


def move_request(given: dict[str, Any]) -> session_moves.MoveRequest:
    """The move asked for; a room left out stays, `"room": null` means none in particular."""
    return session_moves.MoveRequest(
        starts_at_local=given.get("starts_at_local"),
        room=given.get("room", session_moves.KEEP),
        therapist_id=given.get("therapist_id"),
    )


@blueprint.patch("/sessions/<int:session_id>")
def change_session(session_id: int) -> ResponseReturnValue:
    body = parse(SessionPatch)
    _load(TherapySession, "session", session_id)
    user = current_user()
    given = body.model_dump(exclude_unset=True)
    groups = [
        name
        for name, keys in (
            ("move", MOVE_FIELDS),
            ("status", ("status",)),
            ("goal", ("weekly_goal",)),
        )
        if any(k in given for k in keys)
    ]
    if len(groups) != 1:
        raise Invalid(
            {
                "body": "give one change: starts_at_local/room/therapist_id (a move), status, "
                "or weekly_goal"
            }
        )
    action = groups[0]
    if user.role == "therapist" and not (action == "goal" or body.status in THERAPIST_STATUSES):
        raise Forbidden("therapists may set the weekly goal and attendance only")
    with unit_of_work() as session:
        if action == "move":
            s = session_moves.move_session(
                session, ctx(), session_id, move_request(given), actor=user.email
            )
        elif action == "goal":
            s = session_changes.set_weekly_goal(
                session, session_id, body.weekly_goal, actor=user.email
            )
        elif body.status == "cancelled":
            s = session_changes.cancel(
                session,
                ctx(),
                session_id,
                cancelled_by=_who_cancelled(body.cancelled_by, "is required: client or practice"),
                make_up=body.make_up,
                reason=body.reason,
                actor=user.email,
            )
        elif body.status in attendance.MARKS:
            s = attendance.record(
                session, ctx(), session_id, body.status, actor=user.email, reason=body.reason
            )
        elif body.status == "scheduled":
            s = attendance.undo(session, ctx(), session_id, actor=user.email)
        else:
            raise Invalid({"status": "is required"})
        out = session_json(session, s)
    return jsonify(out)
