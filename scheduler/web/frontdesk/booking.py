"""Booking a series: the form, its live preview, and finding or creating the client."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import date, time
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from ...db.models import Client, Series, Therapist
from ...domain.languages import LANGUAGE_NAMES
from ...domain.phases import PROBLEM_AREAS, SERIES_KINDS
from ...inputs import date_problem, day_arg, id_problem
from ...locations import Location
from ...services import access as policy
from ...services import booking, client_records, directory, termination, visible_rows
from ...services.conflicts import redact, summarise
from ...services.errors import Conflict, Invalid, NotFound
from ..context import ctx, db, unit_of_work
from ..reach import allow, load, viewer
from . import access, booking_help, booking_text, present, reads
from .base import page_blueprint
from .forms import BookingForm

bp = page_blueprint("booking", __name__)

# Service field names -> the form field that shows the problem.
_FIELD_FOR = {
    "location_id": "location_id",
    "home_location_id": "location_id",
    "timezone": "client_timezone",
    "language": "client_language",
    "client_id": "client_id",
    "first_session_date": "first_session_date",
    "start_time": "start_time",
    "session_count": "session_count",
    "duration_minutes": "duration_minutes",
    "problem_area": "problem_area",
    "room": "room",
    "therapist_id": "therapist_id",
    "phone": "phone",
    "goal_prompt_consent": "goal_prompt_consent",
    "goal_detail_consent": "goal_detail_consent",
    "kind": "kind",
    "cadence_weeks": "cadence_weeks",
}


def _setup(form: BookingForm, offices: list[Location]) -> None:
    form.location_id.choices = [
        SelectChoice(o.id, f"{o.name} ({o.state})", {"data-zone": present.zone_name(o.timezone)})
        for o in offices
    ]
    people = reads.therapists(db(), where=policy.therapist_filter(viewer()))
    # data-offices lets the page's script offer only who and what is at the chosen office.
    form.therapist_id.choices = [SelectChoice("0", "Choose a therapist")] + [
        SelectChoice(str(t.id), t.name, {"data-offices": " ".join(o.id for o in t.offices)})
        for t in people
    ]
    rooms: dict[str, list[str]] = {}
    for o in offices:
        for r in o.rooms:
            rooms.setdefault(r, []).append(o.id)
    form.room.choices = [SelectChoice("", "No particular room")] + [
        SelectChoice(r, r, {"data-offices": " ".join(ids)}) for r, ids in sorted(rooms.items())
    ]
    # The browser's own check follows the kind chosen (a course's lengths, or 1-12 for
    # maintenance); the service checks again and names the field.
    ranges = {kind: booking.session_count_range(ctx(), kind) for kind in SERIES_KINDS}
    form.kind.choices = [
        SelectChoice(
            c.value,
            c.label,
            {"data-min": str(ranges[c.value][0]), "data-max": str(ranges[c.value][1])},
        )
        for c in form.kind.choices  # type: ignore[union-attr]
    ]
    _count_range(form)


def _count_range(form: BookingForm) -> None:
    low, high = booking.session_count_range(ctx(), form.kind.data or "acute")
    form.session_count.render_kw = {"min": low, "max": high}


def _request_from(
    form: BookingForm, client_id: int, course: Series | None = None
) -> booking.SeriesRequest:
    """The service's request; a maintenance series keeps its course's measure plan (GAD-7)."""
    return booking.SeriesRequest(
        client_id=client_id,
        therapist_id=form.therapist_id.data or 0,
        location_id=form.location_id.data or "",
        first_session_date=form.first_session_date.data or date.min,
        start_time=(form.start_time.data or time(0)).replace(second=0, microsecond=0),
        session_count=form.session_count.data or 0,
        problem_area=form.problem_area.data or "",
        duration_minutes=form.duration_minutes.data or 50,
        room=form.room.data or None,
        kind=form.kind.data or "acute",
        cadence_weeks=form.cadence_weeks.data or 1,
        continues_series_id=form.continues_series_id.data or None,
        measure_gad7=course.measure_gad7 if course is not None else False,
    )


def _continued_course(form: BookingForm) -> Series | None:
    """The course a maintenance series is to continue (404 alike if out of reach)."""
    if not form.continues_series_id.data:
        return None
    return load(Series, form.continues_series_id.data)


def _prefill_maintenance(form: BookingForm, raw: str) -> Series | None:
    """ "Book maintenance" on a series page: everything from the course (services.termination)."""
    if not raw.isdigit():
        return None
    course = load(Series, int(raw))
    req = termination.maintenance_request(course, ctx().locations.get(course.office_id))
    form.client_id.data = req.client_id
    form.location_id.data = req.location_id
    form.therapist_id.data = req.therapist_id
    form.room.data = req.room or ""
    form.first_session_date.data = req.first_session_date
    form.start_time.data = req.start_time
    form.session_count.data = req.session_count
    form.duration_minutes.data = req.duration_minutes
    form.problem_area.data = req.problem_area
    form.kind.data = req.kind
    form.cadence_weeks.data = req.cadence_weeks
    form.continues_series_id.data = req.continues_series_id
    return course


def _chosen_client(form: BookingForm) -> Client | None:
    if not form.client_id.data:
        return None
    return load(Client, form.client_id.data)


def _new_client(form: BookingForm) -> directory.NewClient:
    missing = {
        name: "is required for a new client"
        for name in ("first_name", "last_name", "phone")
        if not (getattr(form, name).data or "").strip()
    }
    if missing:
        raise Invalid(missing)
    return directory.NewClient(
        first_name=form.first_name.data.strip(),
        last_name=form.last_name.data.strip(),
        phone=form.phone.data.strip(),
        home_location_id=form.location_id.data or "",
        timezone=form.client_timezone.data or None,
        language=form.client_language.data or "en",
        sms_consent=form.sms_consent.data,
        goal_prompt_consent=form.goal_prompt_consent.data,
        goal_detail_consent=form.goal_detail_consent.data,
        confirm_duplicate=form.confirm_duplicate.data,
    )


def _show_errors(form: BookingForm, fields: dict[str, str]) -> None:
    for key, message in fields.items():
        target = getattr(form, _FIELD_FOR.get(key, ""), None)
        if target is None:
            form.form_errors.append(f"{key.replace('_', ' ')}: {message}")
        else:
            target.errors = [*target.errors, message]


def _prefill_slot(form: BookingForm) -> None:
    """A free slot clicked in the grid: its therapist, date and time (each only if valid)."""
    raw_therapist = request.args.get("therapist", "")
    offered = {choice.value for choice in form.therapist_id.choices}  # type: ignore[union-attr]
    if raw_therapist in offered:
        form.therapist_id.data = int(raw_therapist)
    form.first_session_date.data = day_arg(request.args.get("date")) or form.first_session_date.data
    with contextlib.suppress(ValueError):
        form.start_time.data = time.fromisoformat(request.args.get("time", ""))


@bp.route("/book", methods=["GET", "POST"])
def book() -> ResponseReturnValue:
    u = allow("use_front_desk")
    offices = access.visible_locations(u)
    form = BookingForm()
    _setup(form, offices)
    if request.method == "GET":
        office = request.args.get("office") or session.get("office")
        if office not in {o.id for o in offices}:
            office = offices[0].id if offices else ""
        form.location_id.data = office
        session["office"] = office
        raw_client = request.args.get("client_id", "")
        if raw_client.isascii() and raw_client.isdigit() and len(raw_client) <= 10:
            form.client_id.data = int(raw_client) if not id_problem(int(raw_client)) else None
        _prefill_slot(form)
        if _prefill_maintenance(form, request.args.get("continues", "")) is not None:
            session["office"] = form.location_id.data
            _count_range(form)
    client = None
    course = None
    status = 200
    conflicts: list[dict[str, Any]] = []
    duplicates: list[Client] = []
    # A pressed suggestion or "use this client" fills the form; it books nothing.
    helping = request.method == "POST" and booking_help.apply_choice(form, request.form)
    try:
        client = _chosen_client(form)
    except NotFound:
        form.client_id.errors = ["no such client"]
    try:
        course = _continued_course(form)
    except NotFound:
        form.form_errors.append("The course this series would continue was not found.")
    wants_preview = request.form.get("action") == "preview" or helping
    if request.method == "POST" and not wants_preview and form.validate():
        try:
            access.location(form.location_id.data or "", "book")
            if not form.therapist_id.data:
                raise Invalid({"therapist_id": "choose a therapist"})
            # One outside the user's reach reads exactly like one that does not exist.
            visible_rows.get_visible(
                db(), u, Therapist, form.therapist_id.data, field="therapist_id"
            )
            with unit_of_work() as tx:
                if form.client_mode.data == "new":
                    client = directory.create_client(
                        tx, ctx(), _new_client(form), actor=u.email, source="web"
                    )
                elif client is None:
                    raise Invalid({"client_id": "choose a client, or enter a new one"})
                result = booking.book_series(
                    tx, ctx(), _request_from(form, client.id, course), actor=u.email
                )
                series_id = result.series.id
        except Invalid as exc:
            _show_errors(form, exc.fields)
        except NotFound as exc:
            if not exc.field:
                raise
            _show_errors(form, {exc.field: f"{exc.what} not found"})
        except client_records.Duplicate as exc:
            duplicates = booking_help.shown_duplicates(exc)
            form.phone.errors = [
                "is already on file for another client: use that record below, or tick the box "
                "if this is another person sharing the phone"
            ]
        except Conflict as exc:
            conflicts = exc.conflicts
            form.form_errors.append(str(exc))
        else:
            what = "maintenance sessions" if form.kind.data == "maintenance" else "sessions"
            flash(f"Booked {form.session_count.data} {what}.")
            return redirect(url_for("series.page", series_id=series_id))
    if request.method == "POST" and not wants_preview and not duplicates:
        # A phone on file is a question to the desk (same person?), not an error: 200.
        status = 422
    elif wants_preview:
        form.validate()  # show what is missing next to the fields
    preview = _preview(form)
    chosen = ctx().locations.get(form.location_id.data or "")
    return (
        render_template(
            "pages/book.html",
            form=form,
            client=client,
            preview=preview,
            conflicts=conflicts,
            conflict_summary=[str(g["message"]) for g in summarise(conflicts)],
            duplicates=duplicates,
            course=course,
            zone_hint=present.zone_name(chosen.timezone) if chosen else None,
        ),
        status,
    )


def _preview(form: BookingForm) -> present.PreviewView | None:
    """The preview of what the form asks for, or None until enough is filled in."""
    if not (form.location_id.data and form.first_session_date.data and form.start_time.data):
        return None
    if date_problem(form.first_session_date.data):
        return None  # the field shows the problem; there is no calendar to preview in year 9999
    if ctx().locations.get(form.location_id.data) is None:
        return None
    access.location(form.location_id.data, "book")
    # The chosen client too: the preview shows their other sessions at that hour (client_busy)
    # exactly as booking would refuse them.
    req = _request_from(form, _client_id(form))
    if req.therapist_id and not policy.reaches(db(), viewer(), Therapist, req.therapist_id):
        req = replace(req, therapist_id=0)  # no window onto a hidden therapist's calendar
    if not req.problem_area:
        # The problem area changes no date; a form without one yet still gets its dates.
        req = replace(req, problem_area=PROBLEM_AREAS[0])
    result = booking.preview(db(), ctx(), req)
    # Another office's client is not named to a desk that does not serve that office.
    shown = redact(result.conflicts, policy.reach(viewer()).office)
    view = present.preview_view(replace(result, conflicts=shown))
    view.confirmation = booking_text.confirmation(form, _shown_client(form), result)
    if shown and result.plan is not None and req.therapist_id:
        view.suggestions = booking_help.suggestions_for(req)
    return view


def _shown_client(form: BookingForm) -> Client | None:
    """The existing client chosen, when this user may see them (their name and language)."""
    found = _client_id(form)
    return db().get(Client, found) if found else None


def _client_id(form: BookingForm) -> int:
    """The existing client chosen and reachable, if any (0 otherwise): the preview and its
    suggestions then also check their other sessions."""
    if form.client_mode.data == "new" or not form.client_id.data:
        return 0
    found = policy.reaches(db(), viewer(), Client, form.client_id.data)
    return form.client_id.data if found else 0


@bp.post("/book/preview")
def preview() -> ResponseReturnValue:
    """JSON: the dates, DST changes, holidays and conflicts of the series being typed in."""
    allow("use_front_desk")
    offices = access.visible_locations()
    form = BookingForm(meta={"csrf": False})  # the blueprint already checked the header token
    _setup(form, offices)
    form.validate()  # fills .data and errors; a partial form still gets a partial preview
    view = _preview(form)
    if view is None:
        return jsonify(ok=False, error="Choose an office, a first date and a time.", html="")
    html = render_template("pages/_preview.html", preview=view)
    return jsonify(view.as_json() | {"html": html})


@bp.get("/book/clients")
def find_clients() -> ResponseReturnValue:
    """JSON: clients matching the search box, limited to the offices this user serves."""
    u = allow("use_front_desk")
    found = reads.search_clients(db(), request.args.get("q", ""), where=policy.client_filter(u))
    return jsonify(
        [
            {
                "id": c.id,
                "name": present.client_name(c.first_name, c.last_name),
                "phone": c.phone,
                "home": c.home_office_id,
                "language": c.language,
                "language_name": LANGUAGE_NAMES.get(c.language, c.language),
            }
            for c in found
        ]
    )


@bp.get("/book/phone")
def check_phone() -> ResponseReturnValue:
    """JSON: is this a mobile number texts can reach? (checked as it is typed)"""
    allow("use_front_desk")
    raw = request.args.get("phone", "")[:40]
    try:
        e164 = directory.normalise_phone(raw)
    except Invalid as exc:
        return jsonify(ok=False, message=exc.fields.get("phone", "is not valid"))
    # Records already on file with this phone (only those this user may see): the form offers
    # to use one instead of making a second record of the same person.
    sharing = client_records.with_phone(db(), [e164])
    shown = [c for c in sharing if policy.can_read(db(), viewer(), c)]
    return jsonify(
        ok=True,
        e164=e164,
        message=f"OK: {present.fmt_phone(e164)}",
        on_file=[
            {"id": c.id, "name": present.client_name(c.first_name, c.last_name),
             "home": c.home_office.name}
            for c in shown
        ],
    )  # fmt: skip
