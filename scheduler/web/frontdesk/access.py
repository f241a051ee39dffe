"""Who is signed in to the browser front desk, and what they may open (`services.access`).

The signed cookie holds the user id and a fingerprint of the password hash, so changing a
password ends every other browser session of that account.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import abort, g, jsonify, redirect, request, session, url_for
from werkzeug.wrappers import Response

from ...db.models import User
from ...locations import Location
from ...services import access as policy
from ...services.access import Action
from ...services.errors import NotFound
from ..context import ctx, db


def fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def start_session(user: User) -> None:
    session.clear()  # a fresh cookie at sign-in: nothing from before survives (fixation)
    session.permanent = True
    session["uid"] = user.id
    session["pw"] = fingerprint(user)


def end_session() -> None:
    session.clear()


def load_user() -> User | None:
    """The signed-in, still-active user of this request (cached on g)."""
    if "staff" in g:
        return g.staff
    user = None
    uid = session.get("uid")
    if isinstance(uid, int):
        found = db().get(User, uid)
        if found is not None and found.active and session.get("pw") == fingerprint(found):
            user = found
    g.staff = user
    return user


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


def require_sign_in() -> Response | None:
    """before_request: let signed-in users through; send everyone else to the sign-in page."""
    if load_user() is not None:
        return None
    if wants_json():
        response = jsonify(error="unauthorized", message="sign in first")
        response.status_code = 401
        return response
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.sign_in", next=target))


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may be a post-sign-in destination (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def user() -> User:
    found = load_user()
    if found is None:  # views run only after require_sign_in
        abort(401)
    return found


def visible_locations(u: User | None = None) -> list[Location]:
    """The offices whose schedule the user may open (the header's office picker)."""
    return policy.visible_offices(u or user(), ctx().locations.locations)


def location(office_id: str, action: Action = "view_schedule") -> Location:
    """The office, if it exists (404) and the user may take `action` there (403)."""
    loc = ctx().locations.get(office_id)
    if loc is None:
        raise NotFound("office", office_id)
    policy.authorize(db(), user(), action, loc.id)
    return loc
