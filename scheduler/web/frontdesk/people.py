"""Clients and therapists: contact, consents, series, this week's sessions, feed links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...db.models import Client, Therapist
from ...inputs import day_arg
from ...services import access as policy
from ...services import audit, consent, feeds, phone_consent, review, row_loads
from ...services.audit import View
from ...services.errors import Invalid
from ...services.feeds import FeedKind
from ...services.text_state import states_from_texts
from ..context import ctx, db, unit_of_work
from ..reach import allow, allowed, load, served, viewed, viewer
from . import reads
from .base import page_blueprint
from .course_status import measure_due, statuses
from .forms import ClientForm, EmptyForm

bp = page_blueprint("people", __name__)


RECENT_DAYS = 14
UPCOMING_DAYS = 7


@bp.get("/clients")
def clients() -> ResponseReturnValue:
    """Search by name, phone or its last digits; without a search, recent and upcoming clients."""
    u = allow("use_front_desk")
    q = request.args.get("q", "")
    found = reads.search_clients(db(), q, where=policy.client_filter(u)) if q.strip() else []
    if len(found) == 1 and request.args.get("go"):  # the header's search: straight there
        return redirect(url_for("people.client", client_id=found[0].id))
    now = ctx().clock()
    where = policy.session_filter(u)
    recent = upcoming = []
    if not q.strip():
        recent = reads.clients_seen(
            db(), now - timedelta(days=RECENT_DAYS), now, where=where, latest_first=True
        )
        upcoming = reads.clients_seen(
            db(), now, now + timedelta(days=UPCOMING_DAYS), where=where, latest_first=False
        )
    return render_template("pages/clients.html", q=q, found=found, recent=recent, upcoming=upcoming)


def _client_page(
    found: Client, form: ClientForm | None = None, status: int = 200, *, recorded: bool = False
) -> Any:
    """The client's page; `recorded`: `found` was read with `load(..., viewed="client")`, which
    wrote this view's audit row already."""
    u = viewer()
    series = reads.series_of_client(db(), found.id, where=policy.series_filter(u))
    sessions = reads.client_sessions(db(), found.id, where=policy.session_filter(u))
    now = ctx().clock()
    may_edit = allowed("edit_client", found)
    if form is None and may_edit:
        form = ClientForm(
            formdata=None,
            phone=found.phone,
            language=found.language,
            sms_consent=found.sms_consent,
            goal_prompt_consent=found.goal_prompt_consent,
            goal_detail_consent=found.goal_detail_consent,
        )
    may_rotate = allowed("rotate_feed", found)
    page = render_template(
        "pages/client.html",
        c=found,
        series=series,
        upcoming=[s for s in sessions if s.starts_at >= now],
        past=[s for s in reversed(sessions) if s.starts_at < now],
        form=form if may_edit else None,
        may_book=allowed("use_front_desk"),
        may_rotate=may_rotate,
        feed_url=feeds.client_feed_url(ctx(), found) if may_rotate else None,
        rotate_form=EmptyForm(),
        views=audit.client_views(db(), found.id) if allowed("read_audit", found) else None,
        number_history=phone_consent.history_of(db(), found),
    )
    if recorded:
        served()
    else:
        viewed(View("client", found.id, found.id))
    return page, status


@bp.get("/clients/<int:client_id>")
def client(client_id: int) -> ResponseReturnValue:
    # Its consents are on the page, in the same SELECT as the client, which records the view.
    found = load(Client, client_id, options=row_loads.CLIENT_RECORD, viewed="client")
    return _client_page(found, recorded=True)


@bp.post("/clients/<int:client_id>")
def update_client(client_id: int) -> ResponseReturnValue:
    """Record a new phone or a consent change (with how it was given, after an opt-out)."""
    found = load(Client, client_id)
    u = allow("edit_client", found)
    form = ClientForm()
    if not form.validate():
        return _client_page(found, form, 422)
    wanted = {
        name: getattr(form, name).data
        for name in ("sms_consent", "goal_prompt_consent", "goal_detail_consent")
        if getattr(form, name).data != getattr(found, name)
    }
    opting_out = bool(form.opt_out_number.data) and found.opted_out_at is None
    change = consent.ClientChange(
        **wanted,
        consent_source=form.consent_source.data or None if wanted else None,
        consent_note=(form.consent_note.data or "").strip() or None
        if wanted or opting_out
        else None,
        phone=form.phone.data if (form.phone.data or "").strip() != found.phone else None,
        language=form.language.data
        if form.language.data not in (None, "", found.language)
        else None,
        opted_out=True if opting_out else None,
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
        return _client_page(load(Client, client_id), form, 422)
    flash("Saved.")
    for notice in notices:
        flash(notice)
    return redirect(url_for("people.client", client_id=client_id))


@bp.get("/therapists")
def therapists() -> ResponseReturnValue:
    u = allow("use_front_desk")
    found = reads.therapists(db(), where=policy.therapist_filter(u))
    return render_template("pages/therapists.html", therapists=found)


@bp.get("/therapists/<int:therapist_id>")
def therapist(therapist_id: int) -> ResponseReturnValue:
    t = load(Therapist, therapist_id)
    u = viewer()
    # The week is the one in the therapist's (first) office's zone; each session is still
    # shown in its own office's time.
    zone = t.offices[0].timezone if t.offices else "UTC"
    today = ctx().clock().astimezone(ZoneInfo(zone)).date()
    shown = day_arg(request.args.get("start")) or today
    monday = shown - timedelta(days=shown.weekday())
    # Those who see clinical content see every session's weekly review here: the read records
    # those views itself (in its own statement on PostgreSQL).
    reviews_shown = policy.sees_clinical_of_every_session(u)
    sessions = reads.therapist_days(
        db(),
        t.id,
        zone,
        monday,
        7,
        where=policy.session_filter(u),
        viewed=("review", u.email) if reviews_shown else None,
    )
    ids = [s.id for s in sessions]
    reviewed = sessions if reviews_shown else []
    may_rotate = allowed("rotate_feed", t)
    now = ctx().clock()
    active = reads.series_of_therapist(db(), t.id, where=policy.series_filter(u))
    # The weeks' goal prompts come in the same read as the sessions' texts; after `active`,
    # whose sessions are where the reviews find each previous session (no query for those).
    reviews, texts = review.weekly_reviews_and_texts(db(), reviewed, ids)
    page = render_template(
        "pages/therapist.html",
        t=t,
        due=measure_due(sessions, now),
        course=statuses(active, now),
        monday=monday,
        sessions=sessions,
        texts=texts,
        # From the texts just read and the clients read with the sessions: no query of its own.
        states=states_from_texts(sessions, texts),
        reviews=reviews,
        may_rotate=may_rotate,
        feed_url=feeds.current_feed_url(db(), ctx(), "therapist", t.id) if may_rotate else None,
        rotate_form=EmptyForm(),
        series=active,
        this_week=monday <= today < monday + timedelta(weeks=1),
        prev_week=monday - timedelta(weeks=1),
        next_week=monday + timedelta(weeks=1),
    )
    served()
    return page


def _rotate(kind: FeedKind, owner_id: int) -> None:
    """Issue a new feed URL; any earlier one stops working at once."""
    u = viewer()
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
    allow("rotate_feed", load(Therapist, therapist_id))
    _rotate("therapist", therapist_id)
    return redirect(url_for("people.therapist", therapist_id=therapist_id))


@bp.post("/clients/<int:client_id>/feed")
def rotate_client_feed(client_id: int) -> ResponseReturnValue:
    allow("rotate_feed", load(Client, client_id))
    _rotate("client", client_id)
    return redirect(url_for("people.client", client_id=client_id))
