"""Clients and therapists: contact, consents, series, this week's sessions, feed links."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...db.models import Client
from ...services import consent, directory, feeds, review
from ...services.errors import Invalid, NotFound
from ...services.feeds import FeedKind
from ...texts.history import messages_for_sessions
from ..context import ctx, db, unit_of_work
from . import access, reads
from .base import page_blueprint
from .forms import ClientForm, EmptyForm

bp = page_blueprint("people", __name__)


@bp.get("/clients")
def clients() -> ResponseReturnValue:
    u = access.require_desk()
    q = request.args.get("q", "")
    offices = None if u.role == "admin" or not u.offices else [o.id for o in u.offices]
    found = reads.search_clients(db(), q, office_ids=offices) if q.strip() else []
    return render_template("pages/clients.html", q=q, found=found)


def _client(client_id: int) -> Client:
    found = db().get(Client, client_id)
    if found is None:
        raise NotFound("client", client_id)
    access.check_client(found)
    return found


def _client_page(found: Client, form: ClientForm | None = None, status: int = 200) -> Any:
    u = access.user()
    series = reads.series_of_client(db(), found.id)
    if u.role == "therapist":
        series = [s for s in series if s.therapist_id == u.therapist_id]
    if form is None:
        form = ClientForm(
            formdata=None,
            phone=found.phone,
            sms_consent=found.sms_consent,
            goal_prompt_consent=found.goal_prompt_consent,
            goal_detail_consent=found.goal_detail_consent,
        )
    desk = access.is_desk(u)
    page = render_template(
        "pages/client.html",
        c=found,
        series=series,
        form=form if desk else None,
        feed_url=feeds.current_feed_url(db(), ctx(), "client", found.id) if desk else None,
        rotate_form=EmptyForm(),
    )
    return page, status


@bp.get("/clients/<int:client_id>")
def client(client_id: int) -> ResponseReturnValue:
    return _client_page(_client(client_id))


@bp.post("/clients/<int:client_id>")
def update_client(client_id: int) -> ResponseReturnValue:
    """Record a new phone or a consent change (with how it was given, after an opt-out)."""
    u = access.require_desk()
    found = _client(client_id)
    form = ClientForm()
    if not form.validate():
        return _client_page(found, form, 422)
    wanted = {
        name: getattr(form, name).data
        for name in ("sms_consent", "goal_prompt_consent", "goal_detail_consent")
        if getattr(form, name).data != getattr(found, name)
    }
    change = consent.ClientChange(
        **wanted,
        consent_source=form.consent_source.data or None if wanted else None,
        consent_note=(form.consent_note.data or "").strip() or None if wanted else None,
        phone=form.phone.data if (form.phone.data or "").strip() != found.phone else None,
    )
    try:
        with unit_of_work() as s:
            _, notices = consent.update_client(s, ctx(), client_id, change, actor=u.email)
    except Invalid as exc:
        for key, message in exc.fields.items():
            field = getattr(form, key, None)
            if field is not None:
                field.errors = [*field.errors, message]
            else:
                form.form_errors.append(message)
        return _client_page(_client(client_id), form, 422)
    flash("Saved.")
    for notice in notices:
        flash(notice)
    return redirect(url_for("people.client", client_id=client_id))


@bp.get("/therapists")
def therapists() -> ResponseReturnValue:
    u = access.require_desk()
    offices = None if u.role == "admin" or not u.offices else [o.id for o in u.offices]
    return render_template("pages/therapists.html", therapists=reads.therapists(db(), offices))


@bp.get("/therapists/<int:therapist_id>")
def therapist(therapist_id: int) -> ResponseReturnValue:
    access.check_therapist(therapist_id)
    t = directory.get_therapist(db(), therapist_id)
    # The week is the one in the therapist's (first) office's zone; each session is still
    # shown in its own office's time.
    zone = t.offices[0].timezone if t.offices else "UTC"
    today = ctx().clock().astimezone(ZoneInfo(zone)).date()
    raw = request.args.get("start", "")
    try:
        shown = date.fromisoformat(raw) if raw else today
    except ValueError:
        shown = today
    monday = shown - timedelta(days=shown.weekday())
    sessions = reads.therapist_days(db(), t.id, zone, monday, 7)
    u = access.user()
    if u.role == "front_desk":
        sessions = [s for s in sessions if u.may_see_office(s.office_id)]
    ids = [s.id for s in sessions]
    clinical = access.sees_clinical(t.id)
    return render_template(
        "pages/therapist.html",
        t=t,
        monday=monday,
        sessions=sessions,
        texts=messages_for_sessions(db(), ids),
        reviews={i: review.weekly_review(db(), i) for i in ids} if clinical else None,
        feed_url=feeds.current_feed_url(db(), ctx(), "therapist", t.id),
        rotate_form=EmptyForm(),
        series=reads.series_of_therapist(db(), t.id),
        this_week=monday <= today < monday + timedelta(weeks=1),
        prev_week=monday - timedelta(weeks=1),
        next_week=monday + timedelta(weeks=1),
    )


def _rotate(kind: FeedKind, owner_id: int) -> None:
    """Issue a new feed URL; any earlier one stops working at once."""
    u = access.user()
    with unit_of_work() as s:
        had_one = feeds.current_feed_url(s, ctx(), kind, owner_id) is not None
        feeds.rotate_token(s, ctx(), kind, owner_id, actor=u.email)
    flash(
        "A new calendar link was issued; the old link no longer works."
        if had_one
        else "A calendar link was issued."
    )


@bp.post("/therapists/<int:therapist_id>/feed")
def rotate_therapist_feed(therapist_id: int) -> ResponseReturnValue:
    access.check_therapist(therapist_id)  # a therapist may rotate their own link only
    directory.get_therapist(db(), therapist_id)
    _rotate("therapist", therapist_id)
    return redirect(url_for("people.therapist", therapist_id=therapist_id))


@bp.post("/clients/<int:client_id>/feed")
def rotate_client_feed(client_id: int) -> ResponseReturnValue:
    access.require_desk()
    _client(client_id)
    _rotate("client", client_id)
    return redirect(url_for("people.client", client_id=client_id))
