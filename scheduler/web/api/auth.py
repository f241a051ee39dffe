"""Bearer-token authentication and role checks for the JSON API."""

from __future__ import annotations

from flask import abort, g, request

from ...db.models import User
from ...services.accounts import user_for_token
from ...services.errors import Forbidden
from ..context import ctx, db


def authenticate() -> None:
    """Resolve `Authorization: Bearer <token>` to g.user, or answer 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, description="missing bearer token")
    session = db()
    user = user_for_token(session, token.strip(), now=ctx().clock())
    if user is None:
        abort(401, description="invalid, expired or revoked token")
    if session.dirty:  # last_used_at, written at most once a minute
        session.commit()
    g.user = user


def current_user() -> User:
    return g.user


def require(*roles: str) -> User:
    user = current_user()
    if user.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}")
    return user


def require_office(office_id: str) -> None:
    """Therapists see only their own sessions; front desk only their assigned offices."""
    user = current_user()
    if user.role == "therapist" or not user.may_see_office(office_id):
        raise Forbidden(f"no access to office {office_id}")


def require_access(office_id: str, therapist_id: int) -> None:
    """Therapists see only their own sessions and series; other staff their offices' ones."""
    user = current_user()
    if user.role == "therapist":
        if user.therapist_id != therapist_id:
            raise Forbidden("therapists see only their own sessions")
    elif not user.may_see_office(office_id):
        raise Forbidden(f"no access to office {office_id}")
