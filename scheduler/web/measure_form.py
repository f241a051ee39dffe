"""The client's questionnaire form, opened by a one-time token: in-office handover or texted link.

No sign-in: the token is the key, and it opens one form for one session and nothing else.
The pages show no name, no diagnosis and no clinical words beyond the questionnaire's own
published wording; they link nowhere, and after the answers are in the device shows only a
thank-you page (the same one for everybody, with the 988 Lifeline and the office's phone),
so whoever takes the device back learns nothing about the answers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..domain import measures as domain
from ..domain.languages import DEFAULT_LANGUAGE, LANGUAGE_NAMES, N_
from ..i18n import translations
from ..services import measure_forms
from ..services.errors import Conflict, Invalid
from ..services.measure_forms import FormGone, OpenForm
from .context import ctx, db, unit_of_work
from .frontdesk.base import csrf

bp = Blueprint("measure_form", __name__)
DONE_KEY = "measure_office"
HANDED_KEY = "measure_handed_over"
LANGUAGE_KEY = "measure_language"


def _gettext(message: str) -> str:
    return translations(g.get("client_language")).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(g.get("client_language")).ngettext(singular, plural, n)


@bp.record_once
def _install_translations(state: BlueprintSetupState) -> None:
    # These pages are the client's, in the client's language (g.client_language, set by each
    # view); the front desk's pages never call the gettext functions, so they stay English.
    env = state.app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
        _gettext, _ngettext, newstyle=True
    )


def _speak(language: str | None) -> None:
    """Show this request's page in `language` (an unknown one falls back to English)."""
    g.client_language = language if language in LANGUAGE_NAMES else DEFAULT_LANGUAGE


@bp.before_request
def _protect() -> None:
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


@bp.after_request
def _headers(response: Response) -> Response:
    # The app's security headers apply too (web.headers); on top of them: the token is in the
    # URL, so it never leaves as a referrer, and no page of it is kept or indexed.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _gone(exc: FormGone) -> ResponseReturnValue:
    _speak(exc.language)
    page = render_template("pages/measure_gone.html", message=exc.reason, not_yet=exc.status == 409)
    return page, exc.status


def _page(
    opened: OpenForm, token: str, *, errors: dict[str, str], chosen: dict[str, str], status: int
) -> ResponseReturnValue:
    _speak(opened.language)
    return (
        render_template(
            "pages/measure_form.html",
            opened=opened,
            token=token,
            errors=errors,
            chosen=chosen,
            frequency=domain.FREQUENCY_OPTIONS,
            difficulty=domain.DIFFICULTY_OPTIONS,
            difficulty_question=domain.DIFFICULTY_QUESTION,
            parts={spec.code: i for i, spec in enumerate(opened.instruments, start=1)},
        ),
        status,
    )


@bp.get("/m/thanks")
def thanks() -> ResponseReturnValue:
    office = ctx().locations.get(session.get(DONE_KEY) or "")
    practice = ctx().locations.practice
    _speak(session.get(LANGUAGE_KEY))
    return render_template(
        "pages/measure_done.html",
        phone=(office.phone if office else practice.phone),
        handed_over=bool(session.get(HANDED_KEY)),
    )


@bp.get("/m/<token>")
def form(token: str) -> ResponseReturnValue:
    try:
        opened = measure_forms.open_form(db(), ctx(), token)
    except FormGone as exc:
        return _gone(exc)
    return _page(opened, token, errors={}, chosen={}, status=200)


def _answers(
    opened: OpenForm,
) -> tuple[dict[str, list[int | None]], dict[str, Any], dict[str, str]]:
    """The posted answers per instrument (None where missing), difficulties, raw choices."""
    chosen = {k: v for k, v in request.form.items() if k != "csrf_token"}
    answers: dict[str, list[int | None]] = {}
    difficulty: dict[str, Any] = {}
    for spec in opened.instruments:
        answers[spec.code] = [
            _choice(chosen.get(f"{spec.code}-{i}")) for i in range(len(spec.items))
        ]
        difficulty[spec.code] = _choice(chosen.get(f"{spec.code}-difficulty"))
    return answers, difficulty, chosen


def _choice(raw: str | None) -> int | None:
    return int(raw) if raw in ("0", "1", "2", "3") else None


@bp.post("/m/<token>")
def submit(token: str) -> ResponseReturnValue:
    try:
        opened = measure_forms.open_form(db(), ctx(), token)
    except FormGone as exc:
        return _gone(exc)
    answers, difficulty, chosen = _answers(opened)
    try:
        with unit_of_work() as tx:
            done = measure_forms.submit(tx, ctx(), token, answers, difficulty)
    except FormGone as exc:
        return _gone(exc)
    except Conflict:
        message = N_("These questions have already been answered. Thank you.")
        return _gone(FormGone(message, opened.language))
    except Invalid as exc:
        return _page(opened, token, errors=exc.fields, chosen=chosen, status=422)
    session.clear()  # nothing of whoever used this browser before stays with it
    session[DONE_KEY] = done.office_id
    session[HANDED_KEY] = done.purpose == "office"
    session[LANGUAGE_KEY] = done.language
    return redirect(url_for("measure_form.thanks"))
