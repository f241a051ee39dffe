"""Help with finding a time: free weekly slots for a series, and a preview of moving a session."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from ...db.models import TherapySession
from ...services import booking, session_moves, suggestions
from ...services.conflicts import redact
from ...services.errors import NotFound
from ..context import ctx, db
from . import openapi
from .auth import require, require_access, require_office
from .base import blueprint
from .schedule import move_request
from .schemas import SeriesIn, SessionMoveIn, parse


@blueprint.post("/series/suggestions")
def suggest_series() -> ResponseReturnValue:
    """Up to 5 weekly slots free in all N weeks; each can be POSTed to /series as it stands."""
    require("admin", "front_desk")
    body = parse(SeriesIn)
    if ctx().locations.get(body.location_id):
        require_office(body.location_id)
    req = booking.SeriesRequest(**body.model_dump())
    found = suggestions.suggest(db(), ctx(), req)
    return jsonify({"suggestions": [s.as_json() for s in found]})


@blueprint.post("/sessions/<int:session_id>/preview")
def preview_session_move(session_id: int) -> ResponseReturnValue:
    """Every conflict a move (time, room, therapist) would meet; nothing is saved."""
    user = require("admin", "front_desk")
    body = parse(SessionMoveIn)
    session = db().get(TherapySession, session_id)
    if session is None:
        raise NotFound("session", session_id)
    require_access(session.office_id, session.therapist_id)
    given = body.model_dump(exclude_unset=True)
    preview = session_moves.preview_move(db(), ctx(), session_id, move_request(given))
    out = preview.as_json()
    out["conflicts"] = redact(out["conflicts"], user.may_see_office)
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
