"""A series and its sessions: reschedule, cancel, attendance, cancel the rest, renegotiate N."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from ...db.models import Series, TherapySession
from ...services import measure_forms, review, row_loads, session_changes, session_moves
from ...services.access import sees_clinical_of_every_session
from ...services.audit import Viewed
from ...services.errors import Conflict, Invalid, NotFound
from ...services.session_common import office_of
from ...services.text_state import states_from_texts
from ...texts.history import messages_for_sessions
from ..context import ctx, db, unit_of_work
from ..reach import allow, allowed, clinical, load, served, viewer
from . import attendance, moving, reads
from .base import page_blueprint
from .course import session_measures_due
from .course_status import course_box, measure_due
from .forms import (
    AttendanceForm,
    CancelForm,
    CancelRestForm,
    HandoverForm,
    RenegotiateForm,
    WeeklyGoalForm,
)

bp = page_blueprint("series", __name__)


def _refusal(form: FlaskForm, exc: Exception) -> int:
    """Put a service refusal on the form; the HTTP status to answer with."""
    if isinstance(exc, Invalid):
        for key, message in exc.fields.items():
            field = getattr(form, key, None)
            if field is not None and hasattr(field, "errors"):
                field.errors = [*field.errors, message]
            else:
                form.form_errors.append(message)
        return 422
    assert isinstance(exc, Conflict)
    form.form_errors.append(str(exc))
    form.form_errors.extend(str(c.get("message", c.get("reason", ""))) for c in exc.conflicts)
    return 409


def _series_page(series: Series, status: int = 200, **forms: Any) -> ResponseReturnValue:
    sessions = list(series.sessions)
    now = ctx().clock()
    renegotiate = forms.get("renegotiate") or RenegotiateForm(
        formdata=None, session_count=series.session_count
    )
    texts = messages_for_sessions(db(), [s.id for s in sessions])
    return (
        render_template(
            "pages/series.html",
            series=series,
            sessions=sessions,
            texts=texts,
            # From the texts just read and the series' client: no query of its own.
            states=states_from_texts(sessions, texts),
            audit=reads.audit_trail(db(), series.id),
            renegotiate=renegotiate,
            cancel_rest=forms.get("cancel_rest") or CancelRestForm(formdata=None),
            may_change=allowed("change_schedule", series),
            now=now,
            course=course_box(series, now),
            due=measure_due(sessions, now),
        ),
        status,
    )


@bp.get("/series/<int:series_id>")
def page(series_id: int) -> ResponseReturnValue:
    series = load(Series, series_id, options=row_loads.SERIES_PAGE, viewed="series")
    shown = _series_page(series)
    served()  # the view's audit row, written by the read above
    return shown


@bp.post("/series/<int:series_id>/renegotiate")
def renegotiate(series_id: int) -> ResponseReturnValue:
    series = load(Series, series_id)
    u = allow("change_schedule", series)
    form = RenegotiateForm()
    if form.validate():
        try:
            with unit_of_work() as s:
                session_changes.renegotiate(
                    s, ctx(), series_id, form.session_count.data, actor=u.email
                )
        except (Invalid, Conflict) as exc:
            return _series_page(series, _refusal(form, exc), renegotiate=form)
        flash(f"The series now has {form.session_count.data} sessions.")
        return redirect(url_for("series.page", series_id=series_id))
    return _series_page(series, 422, renegotiate=form)


@bp.post("/series/<int:series_id>/cancel-rest")
def cancel_rest(series_id: int) -> ResponseReturnValue:
    series = load(Series, series_id)
    u = allow("change_schedule", series)
    form = CancelRestForm()
    if form.validate():
        try:
            with unit_of_work() as s:
                session_changes.cancel_rest(
                    s,
                    ctx(),
                    series_id,
                    cancelled_by=form.cancelled_by.data,
                    reason=form.reason.data or None,
                    actor=u.email,
                )
        except (Invalid, Conflict) as exc:
            return _series_page(series, _refusal(form, exc), cancel_rest=form)
        flash("Every future session of this series is cancelled.")
        return redirect(url_for("series.page", series_id=series_id))
    return _series_page(series, 422, cancel_rest=form)


def _session_page(
    s: TherapySession, status: int = 200, move: moving.MoveView | None = None, **forms: Any
) -> ResponseReturnValue:
    reschedule = forms.get("reschedule") or moving.form_for(db(), s)
    names = {int(c.value): c.label for c in reschedule.therapist_id.choices}  # type: ignore[union-attr]
    if move is None and "reschedule" not in forms and moving.dropped():
        move = moving.preview(db(), s, reschedule, names)  # a block dropped in the grid
    texts = messages_for_sessions(db(), [s.id])
    return (
        render_template(
            "pages/session.html",
            s=s,
            series=s.series,
            texts=texts.get(s.id, []),
            text_state_of=states_from_texts([s], texts).get(s.id),
            reschedule=reschedule,
            move=move,
            cancel=forms.get("cancel") or CancelForm(formdata=None),
            attendance=forms.get("attendance") or AttendanceForm(formdata=None),
            goal=_goal_form(s, forms.get("goal")),
            may_set_goal=allowed("write_clinical", s),
            mark=attendance.for_sheet([s], office_of(ctx(), s.office_id), ctx().clock())[s.id],
            review=review.weekly_review(db(), s) if clinical(s) else None,
            may_change=allowed("change_schedule", s),
            started=s.starts_at <= ctx().clock(),
            measures_due=session_measures_due(s),
            handover_open=measure_forms.handover_open(s, ctx().clock()),
            handover=HandoverForm(formdata=None),
        ),
        status,
    )


def _goal_form(s: TherapySession, form: WeeklyGoalForm | None) -> WeeklyGoalForm | None:
    """The goal form, filled in only for those who may read the goal."""
    if form is not None or not clinical(s):
        return form
    return WeeklyGoalForm(formdata=None, weekly_goal=s.weekly_goal)


@bp.get("/sessions/<int:session_id>")
def session_page(session_id: int) -> ResponseReturnValue:
    # With the weekly review on it, the page is a read of the review. The read writes the
    # audit row (in its own statement on PostgreSQL), so the action is named before the row
    # is read: the review is on every session page of those who see clinical content.
    sees_review = sees_clinical_of_every_session(viewer())
    what: Viewed = "review" if sees_review else "session"
    s = load(TherapySession, session_id, options=row_loads.SESSION_PAGE, viewed=what)
    shown = _session_page(s)
    served()
    return shown


@bp.post("/sessions/<int:session_id>/reschedule")
def reschedule(session_id: int) -> ResponseReturnValue:
    """Preview the move (every conflict, nothing saved), or save it."""
    s = load(TherapySession, session_id)
    u = allow("change_schedule", s)
    form = moving.form_for(db(), s, formdata=request.form)
    names = {int(c.value): c.label for c in form.therapist_id.choices}  # type: ignore[union-attr]
    if not form.validate():
        return _session_page(s, 422, reschedule=form)
    if request.form.get("action") == "preview":
        shown = moving.preview(db(), s, form, names)
        return _session_page(s, 200 if shown else 422, move=shown, reschedule=form)
    try:
        with unit_of_work() as tx:
            session_moves.move_session(tx, ctx(), session_id, moving.change_of(form), actor=u.email)
    except (Invalid, NotFound) as exc:
        moving.show_refusal(form, exc)
        return _session_page(s, 422, reschedule=form)
    except Conflict:
        shown = moving.preview(db(), s, form, names)
        form.form_errors.append("Not moved: something is in the way (see the preview).")
        return _session_page(s, 409, move=shown, reschedule=form)
    flash("Session moved.")
    return redirect(url_for("series.page", series_id=s.series_id))


@bp.post("/sessions/<int:session_id>/cancel")
def cancel(session_id: int) -> ResponseReturnValue:
    s = load(TherapySession, session_id)
    u = allow("change_schedule", s)
    form = CancelForm()
    if form.validate():
        make_up = {"yes": True, "no": False}.get(form.make_up.data or "")
        try:
            with unit_of_work() as tx:
                session_changes.cancel(
                    tx,
                    ctx(),
                    session_id,
                    cancelled_by=form.cancelled_by.data,
                    make_up=make_up,
                    reason=form.reason.data or None,
                    actor=u.email,
                )
        except (Invalid, Conflict) as exc:
            return _session_page(s, _refusal(form, exc), cancel=form)
        flash("Session cancelled.")
        return redirect(url_for("series.page", series_id=s.series_id))
    return _session_page(s, 422, cancel=form)


@bp.post("/sessions/<int:session_id>/goal")
def weekly_goal(session_id: int) -> ResponseReturnValue:
    """The goal agreed in this session, which the next goal prompt may quote."""
    s = load(TherapySession, session_id)
    u = allow("write_clinical", s)
    form = WeeklyGoalForm()
    if form.validate():
        with unit_of_work() as tx:
            goal = (form.weekly_goal.data or "").strip() or None
            session_changes.set_weekly_goal(tx, session_id, goal, actor=u.email)
        flash("Weekly goal saved.")
        return redirect(url_for("series.session_page", session_id=session_id))
    return _session_page(s, 422, goal=form)
