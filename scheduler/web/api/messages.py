"""GET /api/v1/sessions/{id}/messages: the texts planned and sent about one session."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from ...db.models import OutboundMessage, TherapySession
from ...texts.history import messages_for_sessions
from ..context import db
from ..reach import load
from . import openapi
from .base import blueprint

openapi.OPERATIONS.append(
    (
        "get",
        "/sessions/{session_id}/messages",
        "The texts planned or sent about a session",
        None,
        200,
    )
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def message(m: OutboundMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "send_at": _iso(m.send_at),
        "status": m.status,
        "reason": m.reason,
        "provider_sid": m.provider_sid,
        "provider_status": m.provider_status,
        "error": m.error,
        "error_code": m.error_code,
        "attempts": m.attempts,
        "sent_at": _iso(m.sent_at),
    }


@blueprint.get("/sessions/<int:session_id>/messages")
def session_messages(session_id: int) -> ResponseReturnValue:
    load(TherapySession, session_id)  # the same reach as the session itself
    found = messages_for_sessions(db(), [session_id]).get(session_id, [])
    return jsonify([message(m) for m in found])
