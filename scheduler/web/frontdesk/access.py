"""Who is signed in to the browser front desk, and what they may open.

The signed cookie holds only the random secret of a server-side session
(services.staff_sessions): signing out, the idle and absolute limits, disabling the user and
setting a new password all end it in the database, so a saved copy of the cookie stops working.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, g, jsonify, redirect, request, session, url_for
from werkzeug.wrappers import Response

from ...db.models import Client, Series, TherapySession, User
from ...locations import Location
from ...services import queries, staff_sessions
from ...services.errors import Forbidden, NotFound
from ..context import container, ctx, db

DESK_ROLES = ("admin", "front_desk")
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


def is_desk(u: User | None = None) -> bool:
    return (u or user()).role in DESK_ROLES


def require_desk() -> User:
    u = user()
    if u.role not in DESK_ROLES:
        raise Forbidden("this page is for front-desk staff")
    return u


def visible_locations(u: User | None = None) -> list[Location]:
    u = u or user()
    book = ctx().locations
    if u.role == "therapist":
        return []
    return [loc for loc in book.locations if u.may_see_office(loc.id)]


def location(office_id: str) -> Location:
    """The office, if this user may see its schedule; NotFound/Forbidden otherwise."""
    loc = ctx().locations.get(office_id)
    if loc is None:
        raise NotFound("office", office_id)
    if not user().may_see_office(office_id):
        raise Forbidden(f"no access to office {office_id}")
    return loc


def check_series(series: Series) -> None:
    u = user()
    if u.role == "therapist":
        if u.therapist_id != series.therapist_id:
            raise NotFound("series", series.id)  # do not confirm that it exists
    elif not u.may_see_office(series.office_id):
        raise Forbidden(f"no access to office {series.office_id}")


def check_session(s: TherapySession) -> None:
    check_series(s.series)


def check_client(client: Client) -> None:
    u = user()
    if u.role == "therapist":
        if not queries.therapist_sees_client(db(), u.therapist_id, client.id):
            raise NotFound("client", client.id)
        return
    offices = {client.home_office_id, *(s.office_id for s in client_series(client))}
    if not any(u.may_see_office(o) for o in offices):
        raise Forbidden("no access to this client's offices")


def client_series(client: Client) -> list[Series]:
    from .reads import series_of_client

    return series_of_client(db(), client.id)


def check_therapist(therapist_id: int) -> None:
    u = user()
    if u.role == "therapist" and u.therapist_id != therapist_id:
        raise NotFound("therapist", therapist_id)


def sees_clinical(therapist_id: int) -> bool:
    """Weekly goals, replies and ratings: for the treating therapist and admins only."""
    u = user()
    return u.role == "admin" or (u.role == "therapist" and u.therapist_id == therapist_id)


def may_change_schedule() -> bool:
    return is_desk()
