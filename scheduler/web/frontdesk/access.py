"""Who is signed in to the browser front desk, and what they may open (`services.access`).

The signed cookie holds only the random secret of a server-side session
(services.staff_sessions): signing out, the idle and absolute limits, disabling the user and
setting a new password all end it in the database, so a saved copy of the cookie stops working.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, g, jsonify, redirect, request, session, url_for
from werkzeug.wrappers import Response

from ...db.models import User
from ...locations import Location
from ...services import access as policy
from ...services import staff_sessions
from ...services.access import Action
from ...services.errors import NotFound
from ..context import container, ctx, db

SESSION_KEY = "sid"


def client_address() -> str:
    # With TRUSTED_PROXIES set, ProxyFix has already put the real client address here.
    return request.remote_addr or "unknown"


def start_session(user: User) -> None:
    """Open a server-side session for `user` (committed by the caller) and set its cookie."""
    database = db()
    previous = session.get(SESSION_KEY)
    if isinstance(previous, str):  # signing in again over a live session replaces it
        staff_sessions.end(database, previous, ip=client_address())
    secret = staff_sessions.start(database, user, now=ctx().clock())
    session.clear()  # a fresh cookie at sign-in: nothing from before survives (fixation)
    session.permanent = True
    session[SESSION_KEY] = secret
    g.staff = user


def end_session() -> None:
    """Sign out: end the session on the server, then forget the cookie."""
    secret = session.get(SESSION_KEY)
    if isinstance(secret, str):
        database = db()
        staff_sessions.end(database, secret, ip=client_address())
        database.commit()
    session.clear()
    g.staff = None


def load_user() -> User | None:
    """The signed-in, still-active user of this request (cached on g)."""
    if "staff" in g:
        return g.staff
    user = None
    secret = session.get(SESSION_KEY)
    if isinstance(secret, str):
        database = db()
        limits = staff_sessions.Limits.from_settings(container().settings)
        user = staff_sessions.resolve(database, secret, now=ctx().clock(), limits=limits)
        if database.dirty or database.deleted:  # a once-a-minute touch, or an expiry
            database.commit()
        if user is None:
            session.pop(SESSION_KEY, None)
            g.session_ended = True
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
    if g.get("session_ended"):
        flash("Your session has ended. Please sign in again.")
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
