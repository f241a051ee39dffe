"""Signing in and out of the front desk."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...services import demo, signin
from ..context import ctx, db
from . import access
from .base import page_blueprint
from .forms import SignInForm

bp = page_blueprint("auth", __name__)


@bp.route("/signin", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    form = SignInForm()
    if request.method == "GET":
        form.next.data = access.safe_next(request.args.get("next")) or ""
        if access.load_user() is not None:
            return redirect(form.next.data or url_for("schedule.landing"))
    status = 200
    if form.validate_on_submit():
        attempt = signin.Attempt(
            email=form.email.data or "",
            password=form.password.data or "",
            ip=access.client_address(),
        )
        session = db()
        try:
            user = signin.sign_in(session, attempt, now=ctx().clock())
        except signin.Throttled as exc:
            session.rollback()
            form.password.errors = [
                f"Too many failed attempts. Try again in {exc.minutes} minute(s)."
            ]
            status = 429
        except signin.BadCredentials:
            session.commit()  # keep the recorded failure
            form.password.errors = ["Wrong email or password."]
            status = 401
        else:
            access.start_session(user)
            session.commit()
            return redirect(access.safe_next(form.next.data) or url_for("schedule.landing"))
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "pages/signin.html",
            form=form,
            demo_user=demo.DEMO_ADMIN if current_app.config.get("DEMO_SIGN_IN") else None,
            demo_password=demo.DEMO_PASSWORD if current_app.config.get("DEMO_SIGN_IN") else None,
        ),
        status,
    )


@bp.post("/signout")
def sign_out() -> ResponseReturnValue:
    access.end_session()
    flash("You are signed out.")
    return redirect(url_for("auth.sign_in"))
