"""Measures, alerts, the course view and the outcomes report: clinical, so the treating therapist
and admins only (services.access: read_clinical / write_clinical on the series or session,
list_alerts, read_reports); the front desk sees `measure_due` on sessions."""

from __future__ import annotations

from datetime import UTC, date

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from ...db.models import Series, TherapySession
from ...services import alerts, course, course_report, measures
from ...services.audit import Viewed
from ...services.errors import Invalid
from ..context import ctx, db, unit_of_work
from ..downloads import course_report_csv
from ..reach import allow, load, load_alert, served
from . import course_json, openapi
from .base import blueprint
from .schemas import AlertAcknowledgement, MeasureIn, parse


def _clinical_series(series_id: int, recording: Viewed | None = None) -> Series:
    """The series if the user may read its clinical content; `recording`: the read also writes
    the audit row of this view (committed by `served()`, or rolled back with a refusal)."""
    found = load(Series, series_id, viewed=recording)
    allow("read_clinical", found)
    return found


@blueprint.post("/sessions/<int:session_id>/measures")
def record_measure(session_id: int) -> ResponseReturnValue:
    user = allow("write_clinical", load(TherapySession, session_id))
    body = parse(MeasureIn)
    with unit_of_work() as session:
        recorded = measures.record(
            session,
            ctx(),
            session_id,
            body.instrument,
            body.answers,
            difficulty=body.difficulty,
            source="staff",
            actor=user.email,
        )
        m, alert = recorded.measure, recorded.alert
        out = {
            "id": m.id,
            "session_id": m.session_id,
            "instrument": m.instrument,
            "score": m.score,
            "severity": m.severity,
            "alert": alert is not None,
            "alert_id": alert.id if alert is not None else None,
        }
    return jsonify(out), 201


@blueprint.get("/series/<int:series_id>/measures")
def series_measures(series_id: int) -> ResponseReturnValue:
    series = _clinical_series(series_id, recording="measures")
    zone = ctx().locations.get(series.office_id)
    tz = zone.timezone if zone is not None else "UTC"
    found = measures.of_series(db(), series_id)
    out = {
        "series_id": series.id,
        "plan": course_json.measure_plan(series),
        "severity_bands": course_json.bands(),
        "measures": [course_json.measure(m, tz) for m in found],
    }
    served()
    return jsonify(out)


@blueprint.get("/series/<int:series_id>/course")
def series_course(series_id: int) -> ResponseReturnValue:
    series = _clinical_series(series_id, recording="course")
    view = course.course_view(db(), series, ctx().clock())
    out = course_json.course(view)
    served()
    return jsonify(out)


@blueprint.get("/alerts")
def list_alerts() -> ResponseReturnValue:
    user = allow("list_alerts")
    found = alerts.open_alerts(
        db(),
        therapist_id=None if user.role == "admin" else user.therapist_id,
        viewed_by=user.email,  # the read records what the answer shows
    )
    out = [course_json.alert(a) for a in found]
    served()
    return jsonify(out)


@blueprint.post("/alerts/<int:alert_id>/acknowledge")
def acknowledge_alert(alert_id: int) -> ResponseReturnValue:
    user = allow("write_clinical", load_alert(alert_id).series)
    body = parse(AlertAcknowledgement)
    with unit_of_work() as session:
        alert = alerts.acknowledge(session, alert_id, body.note, actor=user.email, at=ctx().clock())
        out = course_json.alert(alert)
    return jsonify(out)


def report_period() -> tuple[date, date]:
    """`from` and `to` of a report request (default: the year up to today, UTC)."""
    today = ctx().clock().astimezone(UTC).date()
    return course_report.period(request.args.get("from"), request.args.get("to"), today)


@blueprint.get("/reports/courses")
def courses_report() -> ResponseReturnValue:
    allow("read_reports")
    fmt = request.args.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise Invalid({"format": "must be json or csv"})
    start, end = report_period()
    found = course_report.course_outcomes(db(), start, end, ctx().clock())
    if fmt == "csv":
        return course_report_csv(found)
    return jsonify(course_json.report(found))


openapi.OPERATIONS.extend(
    [
        (
            "post",
            "/sessions/{session_id}/measures",
            "Record a completed PHQ-9 or GAD-7 for a session: 201 {score, severity, alert}; "
            "a PHQ-9 item 9 above 0 raises an urgent alert (treating therapist, admins)",
            MeasureIn,
            201,
        ),
        (
            "get",
            "/series/{series_id}/measures",
            "The series' measure plan, severity bands and every measure (treating therapist, "
            "admins)",
            None,
            200,
        ),
        (
            "get",
            "/series/{series_id}/course",
            "The course at a glance: sessions with number, phase and attendance, weeks, goals, "
            "ratings, measures with severity bands (treating therapist, admins)",
            None,
            200,
        ),
        (
            "get",
            "/alerts",
            "Open alerts: a therapist's own, every one for admins (not the front desk)",
            None,
            200,
        ),
        (
            "post",
            "/alerts/{alert_id}/acknowledge",
            "Acknowledge an alert with a note saying what was done (audited)",
            AlertAcknowledgement,
            200,
        ),
        (
            "get",
            "/reports/courses",
            "Course outcomes per office and therapist (admins); format=csv downloads CSV",
            None,
            200,
        ),
    ]
)
openapi._QUERY.setdefault(
    "/reports/courses",
    [
        ("from", False, "string", "First day of the period (YYYY-MM-DD); default a year ago"),
        ("to", False, "string", "Last day of the period (YYYY-MM-DD); default today (UTC)"),
        ("format", False, "string", "json (default) or csv"),
    ],
)
