"""The clinical pages: the course view, open alerts, the outcomes report, and the handover of a
questionnaire to the client in the office (which signs the staff member out of the device)."""

from __future__ import annotations

from datetime import UTC, date

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...db.models import Series, TherapySession
from ...domain import measures as domain
from ...services import alerts, course, course_report, measure_forms, measures, termination
from ...services.errors import Invalid
from ..context import ctx, db, unit_of_work
from ..downloads import course_report_csv
from ..reach import allow, clinical, load, load_alert, served
from . import access
from .base import page_blueprint
from .course_charts import course_charts, report_chart
from .forms import AcknowledgeForm, HandoverForm, MeasurePlanForm

bp = page_blueprint("course", __name__)


@bp.get("/series/<int:series_id>/course")
def page(series_id: int) -> ResponseReturnValue:
    # The read writes the audit row of this view (committed with the page by served()).
    series = load(Series, series_id, viewed="course")
    allow("read_clinical", series)
    # The row just read (its sessions and client load on first use): no second SELECT of it.
    view = course.course_view(db(), series, ctx().clock())
    page = render_template(
        "pages/course.html",
        view=view,
        series=view.series,
        charts=course_charts(view),
        specs=domain.SPECS,
        follow_ups=termination.follow_ups(db(), series_id),
        printed_at=ctx().clock(),
        plan_form=MeasurePlanForm(
            formdata=None,
            measure_schedule=view.series.measure_schedule,
            measure_gad7=view.series.measure_gad7,
        ),
    )
    served()
    return page


@bp.post("/series/<int:series_id>/measure-plan")
def measure_plan(series_id: int) -> ResponseReturnValue:
    """The clinician changes when questionnaires are due (the texted links follow)."""
    u = allow("write_clinical", load(Series, series_id))
    form = MeasurePlanForm()
    if not form.validate():
        flash("Plan not changed: " + "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect(url_for("course.page", series_id=series_id))
    try:
        with unit_of_work() as tx:
            measures.change_plan(
                tx,
                ctx(),
                series_id,
                schedule=form.measure_schedule.data,
                gad7=form.measure_gad7.data,
                actor=u.email,
            )
    except Invalid as exc:
        flash("Plan not changed: " + "; ".join(exc.fields.values()))
    else:
        flash("Measure plan changed.")
    return redirect(url_for("course.page", series_id=series_id))


@bp.get("/alerts")
def alert_list() -> ResponseReturnValue:
    u = allow("list_alerts")
    found = alerts.open_alerts(
        db(),
        therapist_id=None if u.role == "admin" else u.therapist_id,
        viewed_by=u.email,  # the read records what the page shows
    )
    forms = {a.id: AcknowledgeForm(formdata=None, prefix=f"alert{a.id}") for a in found}
    page = render_template(
        "pages/alerts.html", found=found, forms=forms, frequency=domain.FREQUENCY_OPTIONS
    )
    served()
    return page


@bp.post("/alerts/<int:alert_id>/acknowledge")
def acknowledge(alert_id: int) -> ResponseReturnValue:
    u = allow("write_clinical", load_alert(alert_id).series)
    form = AcknowledgeForm(prefix=f"alert{alert_id}")
    if not form.validate():
        flash("Not acknowledged: " + "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect(url_for("course.alert_list"))
    try:
        with unit_of_work() as tx:
            alerts.acknowledge(tx, alert_id, form.note.data or "", actor=u.email, at=ctx().clock())
    except Invalid as exc:
        flash("Not acknowledged: " + "; ".join(exc.fields.values()))
    else:
        flash(f"Alert #{alert_id} acknowledged.")
    return redirect(url_for("course.alert_list"))


@bp.post("/sessions/<int:session_id>/measures/handover")
def handover(session_id: int) -> ResponseReturnValue:
    """Hand the device to the client: a one-time form, and this browser is signed out."""
    found = load(TherapySession, session_id)
    u = allow("hand_over_measure", found)
    form = HandoverForm()
    chosen = [code for code in domain.INSTRUMENTS if getattr(form, code).data]
    # Only a clinician may ask for a questionnaire the plan does not; the desk hands over
    # what is due.
    extra = clinical(found) and bool(chosen)
    try:
        with unit_of_work() as tx:
            token = measure_forms.start_handover(
                tx,
                ctx(),
                session_id,
                instruments=chosen if extra else None,
                actor=u.email,
            )
    except Invalid as exc:
        flash("The questionnaire cannot be handed over: " + "; ".join(exc.fields.values()))
        return redirect(url_for("series.session_page", session_id=session_id))
    access.end_session()  # kiosk: nothing of the staff member's is reachable from here on
    return redirect(url_for("measure_form.form", token=token))


def _report_period() -> tuple[date, date]:
    today = ctx().clock().astimezone(UTC).date()
    return course_report.period(request.args.get("from"), request.args.get("to"), today)


@bp.get("/reports/courses")
def report() -> ResponseReturnValue:
    allow("read_reports")
    try:
        start, end = _report_period()
    except Invalid as exc:
        return render_template("pages/report_courses.html", errors=exc.fields, found=None), 422
    found = course_report.course_outcomes(db(), start, end, ctx().clock())
    return render_template(
        "pages/report_courses.html", found=found, chart=report_chart(found), errors={}
    )


@bp.get("/reports/courses.csv")
def report_csv() -> ResponseReturnValue:
    allow("read_reports")
    start, end = _report_period()
    return course_report_csv(course_report.course_outcomes(db(), start, end, ctx().clock()))


def session_measures_due(s: TherapySession) -> tuple[str, ...]:
    """For the session page: the questionnaires still due at this session."""
    return measures.due_instruments(db(), [s])[s.id]
