"""The browser front desk: server-rendered pages with sign-in, CSRF-protected forms and roles.

Only these blueprints check CSRF tokens and session cookies: the bearer-token API, the Twilio
webhooks and the calendar feeds are other blueprints and are never touched by either.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask

from .base import csrf


def blueprints() -> list[Blueprint]:
    from . import auth, booking, course, inbox, people, schedule, series

    return [auth.bp, schedule.bp, booking.bp, series.bp, people.bp, inbox.bp, course.bp]


def init_app(app: Flask) -> None:
    """Register the front-desk blueprints, CSRF protection and the page filters."""
    # Checked per blueprint (see base.page_blueprint) instead of globally, so every other
    # blueprint is exempt whatever it is called.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 12 * 3600)
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=12))
    csrf.init_app(app)
    from . import filters

    filters.register(app)
    for bp in blueprints():
        app.register_blueprint(bp)
