"""Measures, alerts, the course view and the outcomes report: clinical, so the treating therapist
and admins only (services.course_access); the front desk sees `measure_due` on sessions."""

from __future__ import annotations

from datetime import UTC, date

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from ...db.models import Series, TherapySession
from ...services import alerts, course, course_access, course_report, measures
from ...services.errors import Invalid, NotFound
from ..context import ctx, db, unit_of_work
from ..downloads import course_report_csv
from . import course_json, openapi
from .auth import current_user
from .base import blueprint
from .schemas import AlertAcknowledgement, MeasureIn, parse


def _clinical_series(series_id: int) -> Series:
    found = db().get(Series, series_id)
    if found is None:
        raise NotFound("series", series_id)
    course_access.require_clinical(
        current_user(), found.office_id, found.therapist_id, what="series", ident=series_id
    )
    return found


@blueprint.post("/sessions/<int:session_id>/measures")
def record_measure(session_id: int) -> ResponseReturnValue:
    user = current_user()
    found = db().get(TherapySession, session_id)
    if found is None:
        raise NotFound("session", session_id)
    course_access.require_clinical(
        user, found.office_id, found.therapist_id, what="session", ident=session_id
    )
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
    series = _clinical_series(series_id)
    zone = ctx().locations.get(series.office_id)
    tz = zone.timezone if zone is not None else "UTC"
    found = measures.of_series(db(), series_id)
    return jsonify(
        {
            "series_id": series.id,
            "plan": course_json.measure_plan(series),
            "severity_bands": course_json.bands(),
            "measures": [course_json.measure(m, tz) for m in found],
        }
    )


@blueprint.get("/series/<int:series_id>/course")
def series_course(series_id: int) -> ResponseReturnValue:
    _clinical_series(series_id)
    view = course.course_view(db(), course.load_series(db(), series_id), ctx().clock())
    return jsonify(course_json.course(view))


@blueprint.get("/alerts")
def list_alerts() -> ResponseReturnValue:
    user = current_user()
    course_access.require_alert_reader(user)
    mine = None if user.role == "admin" else user.therapist_id
    if user.role == "therapist" and mine is None:
        return jsonify([])
    found = alerts.open_alerts(db(), therapist_id=mine)
    return jsonify([course_json.alert(a) for a in found])


@blueprint.post("/alerts/<int:alert_id>/acknowledge")
def acknowledge_alert(alert_id: int) -> ResponseReturnValue:
    user = current_user()
    found = alerts.get_alert(db(), alert_id)
    course_access.require_clinical(
        user, found.office_id, found.therapist_id, what="alert", ident=alert_id
    )
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
    course_access.require_admin(current_user())
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
