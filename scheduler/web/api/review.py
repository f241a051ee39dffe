"""GET /sessions/{id}/review: what the therapist reads before the session (weekly review)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import jsonify
from flask.typing import ResponseReturnValue

from ...db.models import TherapySession
from ...services.review import weekly_review
from ..context import db
from ..reach import allow, load, served
from . import openapi, serialize
from .base import blueprint


@blueprint.get("/sessions/<int:session_id>/review")
def session_review(session_id: int) -> ResponseReturnValue:
    """Clinical: the treating therapist's and admins'; the front desk gets 403."""
    # The read writes the audit row of this view (in its own statement on PostgreSQL);
    # served() commits it once the answer is built, a refusal rolls it back.
    allow("read_clinical", load(TherapySession, session_id, viewed="review"))
    review = weekly_review(db(), session_id)
    session = review.session
    zone = ZoneInfo(session.timezone)

    def at(value: Any) -> str | None:
        return value.astimezone(zone).isoformat() if value is not None else None

    previous = review.previous
    out = {
        "session": serialize.session(session, clinical=True),
        "confirmed": session.confirmed_at is not None,
        "confirmed_at": at(session.confirmed_at),
        "goal": review.goal,
        "previous_session": (
            {
                "id": previous.id,
                "number": previous.number,
                "starts_at": at(previous.starts_at),
                "status": previous.status,
                "weekly_goal": previous.weekly_goal,
            }
            if previous is not None
            else None
        ),
        "week_start": at(review.week_start),
        "prompts": [
            {
                "id": m.id,
                "sent_at": at(m.sent_at),
                "status": m.status,
                "body": m.body,
                "prompt_id": m.prompt_id,
            }
            for m in review.prompts
        ],
        "replies": [
            {"id": r.id, "received_at": at(r.received_at), "text": r.body, "rating": r.rating}
            for r in review.replies
        ],
        "ratings": [
            {
                "rating": r.rating,
                "received_at": at(r.received_at),
                "prompt_message_id": r.prompt_message_id,
                "session_id": r.session_id,
            }
            for r in review.ratings
        ],
        "latest_rating": review.latest_rating,
    }
    served()
    return jsonify(out)


openapi.OPERATIONS.append(
    (
        "get",
        "/sessions/{session_id}/review",
        "Weekly review: last session's goal, prompts since, the client's replies and ratings",
        None,
        200,
    )
)
