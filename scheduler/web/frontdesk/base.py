"""What every front-desk blueprint shares: CSRF, sign-in, error pages (headers: web.headers)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.wrappers import Response

from ...db.models import User
from ...services import access as policy
from ...services import alerts, inbox_threads
from ...services.errors import Forbidden, NotFound
from . import access

csrf = CSRFProtect()


def _protect() -> Response | None:
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    if request.blueprint != "auth":
        refused = access.require_sign_in()
        if refused is not None:
            return refused
        g.user = access.user()  # what `web.reach` asks the policy about, as the API does
    return None


def _page_error(status: int, message: str) -> tuple[str, int] | Response:
    if access.wants_json():
        from ..errors import json_error

        return json_error(status, "forbidden" if status == 403 else "not_found", message=message)
    return render_template("pages/error.html", status=status, message=message), status


def _not_found(exc: NotFound) -> Any:
    return _page_error(404, f"Not found: {exc.what}.")


def _forbidden(exc: Forbidden) -> Any:
    return _page_error(403, str(exc) or "You may not open this page.")


def _csrf_failed(exc: CSRFError) -> Any:
    message = "This form has expired or was not sent from this site. Reload the page and retry."
    if access.wants_json():
        from ..errors import json_error

        return json_error(400, "csrf", message=exc.description or message)
    return render_template("pages/error.html", status=400, message=message), 400


def _open_alerts(u: User | None) -> int:
    """Open urgent alerts to show in the banner: one indexed count, therapists and admins only."""
    if u is None or u.role not in ("therapist", "admin"):
        return 0
    if u.role == "therapist" and u.therapist_id is None:
        return 0
    from ..context import db

    return alerts.count_open(db(), therapist_id=u.therapist_id if u.role == "therapist" else None)


def _template_globals() -> dict[str, Any]:
    from ..context import container

    u = access.load_user()
    offices = access.visible_locations(u) if u else []
    remembered = session.get("office")
    unread, open_alerts = _header_counts(u)
    return {
        "me": u,
        "practice": container().locations.practice,
        "nav_offices": offices,
        "office": next((o for o in offices if o.id == remembered), offices[0] if offices else None),
        "inbox_unread": sum(unread.values()),
        "inbox_unread_by_office": unread,
        "open_alerts": open_alerts,
    }


def _header_counts(u: User | None) -> tuple[dict[str | None, int], int]:
    """Unread inbox items per office and open alerts: one statement when the user sees both."""
    if u is not None and u.role == "admin" and "inbox_unread" not in g and policy.reach(u).desk:
        from ..context import db

        return alerts.unread_and_open(
            db(), u.id, inbox_where=policy.inbox_filter(u), therapist_id=None
        )
    return _unread(u), _open_alerts(u)


def _unread(u: User | None) -> dict[str | None, int]:
    """Open inbox items the user has not opened yet, per office (the header's count)."""
    if "inbox_unread" in g:  # counted by the view before it marked items read
        return dict(g.inbox_unread)
    if u is None or not policy.reach(u).desk:
        return {}
    from ..context import db

    return inbox_threads.unread_counts(db(), u.id, where=policy.inbox_filter(u))


def remember_unread(u: User) -> None:
    """Count the header's unread items now, before the view marks the ones it shows."""
    g.inbox_unread = _unread(u)


def page_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint whose views need a signed-in user (except `auth`) and a CSRF token on POST."""
    bp = Blueprint(name, import_name)
    bp.before_request(_protect)
    bp.context_processor(_template_globals)
    bp.register_error_handler(NotFound, _not_found)
    bp.register_error_handler(Forbidden, _forbidden)
    bp.register_error_handler(CSRFError, _csrf_failed)
    return bp
