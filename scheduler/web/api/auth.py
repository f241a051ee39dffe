"""Bearer-token authentication for the JSON API (what a user may do: `web.reach`)."""

from __future__ import annotations

from flask import abort, g, request

from ...db.models import User
from ...services.accounts import check_token
from ..context import ctx, db


def authenticate() -> None:
    """Resolve `Authorization: Bearer <token>` to g.user, or answer 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, description="missing bearer token")
    session = db()
    user, touched = check_token(session, token.strip(), now=ctx().clock())
    if user is None:
        abort(401, description="invalid, expired or revoked token")
    if touched:  # last_used_at, written at most once a minute
        session.commit()
    g.user = user


def current_user() -> User:
    return g.user
