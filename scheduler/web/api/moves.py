"""Help with finding a time: free weekly slots for a series, and a preview of moving a session."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from ...db.models import Client, Therapist, TherapySession
from ...services import access, booking, session_moves, suggestions, visible_rows
from ...services.conflicts import redact
from ..context import ctx, db
from ..reach import allow, load
from . import openapi
from .auth import current_user
from .base import blueprint
from .schedule import move_request
from .schemas import SeriesIn, SessionMoveIn, parse


@blueprint.post("/series/suggestions")
def suggest_series() -> ResponseReturnValue:
    """Up to 5 weekly slots free in all N weeks; each can be POSTed to /series as it stands."""
    user = current_user()
    allow("use_front_desk")
    body = parse(SeriesIn)
    if ctx().locations.get(body.location_id):
        allow("book", body.location_id)
    # As for booking: a client or therapist the caller does not reach reads as missing.
    visible_rows.get_visible(db(), user, Client, body.client_id, field="client_id")
    visible_rows.get_visible(db(), user, Therapist, body.therapist_id, field="therapist_id")
    req = booking.SeriesRequest(**body.model_dump())
    found = suggestions.suggest(db(), ctx(), req)
    return jsonify({"suggestions": [s.as_json() for s in found]})


@blueprint.post("/sessions/<int:session_id>/preview")
def preview_session_move(session_id: int) -> ResponseReturnValue:
    """Every conflict a move (time, room, therapist) would meet; nothing is saved."""
    user = allow("change_schedule", load(TherapySession, session_id))
    body = parse(SessionMoveIn)
    given = body.model_dump(exclude_unset=True)
    if given.get("therapist_id") is not None:
        visible_rows.get_visible(db(), user, Therapist, given["therapist_id"], field="therapist_id")
    preview = session_moves.preview_move(db(), ctx(), session_id, move_request(given))
    out = preview.as_json()
    out["conflicts"] = redact(out["conflicts"], access.reach(user).office)
    return jsonify(out)


openapi.OPERATIONS.extend(
    [
        (
            "post",
            "/series/suggestions",
            "Up to 5 weekly slots free in all N weeks for this booking (same therapist first, "
            'then others at the office; same weekday and nearby times first): {"suggestions": '
            '[{"therapist_id", "location_id", "first_session_date", "start_time", "room", '
            '"therapist_name", "label"}]}; each books as it stands with POST /series',
            SeriesIn,
            200,
        ),
        (
            "post",
            "/sessions/{session_id}/preview",
            "Preview moving one session (new local time, room and/or therapist): the session "
            "as it would be and every conflict, each naming what blocks it; nothing is saved",
            SessionMoveIn,
            200,
        ),
    ]
)
