"""JSON shapes of the course: measures, the course view, alerts and the outcomes report."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ...db.models import Alert, MeasureResponse, Series
from ...domain import measures as domain
from ...services.course import CourseSession, CourseView, MeasurePoint
from ...services.course_report import CourseReport, OutcomeRow


def _at(value: datetime | None, zone: str) -> str | None:
    return value.astimezone(ZoneInfo(zone)).isoformat() if value is not None else None


def measure(m: MeasureResponse, zone: str) -> dict[str, Any]:
    spec = domain.spec(m.instrument)
    return {
        "id": m.id,
        "session_id": m.session_id,
        "number": m.session.number if m.session.counts else None,
        "instrument": m.instrument,
        "name": spec.name,
        "answers": list(m.answers),
        "difficulty": m.difficulty,
        "score": m.score,
        "max_score": spec.max_score,
        "severity": m.severity,
        "risk_item": m.answers[domain.PHQ9_RISK_ITEM] if m.instrument == "phq9" else None,
        "source": m.source,
        "taken_at": _at(m.taken_at, zone),
    }


def bands() -> dict[str, list[dict[str, Any]]]:
    """The published severity bands of each instrument."""
    return {
        code: [{"from": b.low, "to": b.high, "severity": b.label} for b in spec.bands]
        for code, spec in domain.SPECS.items()
    }


def measure_plan(series: Series) -> dict[str, Any]:
    points = domain.measure_points(
        series.measure_schedule,  # type: ignore[arg-type]  # validated when stored
        series.session_count,
    )
    return {
        "schedule": series.measure_schedule,
        "gad7": series.measure_gad7,
        "instruments": ["phq9", "gad7"] if series.measure_gad7 else ["phq9"],
        "session_numbers": list(points),
    }


def _point(p: MeasurePoint, zone: str) -> dict[str, Any]:
    return {
        "instrument": p.instrument,
        "session_id": p.session_id,
        "number": p.number,
        "score": p.score,
        "max_score": p.max_score,
        "severity": p.severity,
        "risk_item": p.risk_item,
        "source": p.source,
        "taken_at": _at(p.taken_at, zone),
    }


def _session(s: CourseSession) -> dict[str, Any]:
    return {
        "id": s.id,
        "number": s.number,
        "phase": s.phase,
        "local_date": s.local_date.isoformat(),
        "local_time": s.local_time.isoformat("minutes"),
        "starts_at": _at(s.starts_at, s.timezone),
        "attendance": s.attendance,
        "cancelled_by": s.cancelled_by,
        "made_up": s.made_up,
        "is_make_up": s.is_make_up,
        "confirmed": s.confirmed,
        "weekly_goal": s.weekly_goal,
        "ratings": list(s.ratings),
        "measures": [_point(p, s.timezone) for p in s.measures],
        "measures_due": list(s.measures_due),
    }


def alert(a: Alert) -> dict[str, Any]:
    zone = a.session.timezone
    client = a.series.client
    return {
        "id": a.id,
        "kind": a.kind,
        "level": a.level,
        "status": a.status,
        "series_id": a.series_id,
        "session_id": a.session_id,
        "session_number": a.session.number,
        "therapist_id": a.therapist_id,
        "location_id": a.office_id,
        "client": {"id": client.id, "first_name": client.first_name, "last_name": client.last_name},
        "measure": {
            "id": a.measure_id,
            "instrument": a.measure.instrument,
            "score": a.measure.score,
            "severity": a.measure.severity,
            "risk_item": a.measure.answers[domain.PHQ9_RISK_ITEM],
        },
        "created_at": _at(a.created_at, zone),
        "acknowledged_at": _at(a.acknowledged_at, zone),
        "acknowledged_by": a.acknowledged_by,
        "note": a.note,
    }


def course(view: CourseView) -> dict[str, Any]:
    series = view.series
    zone = series.sessions[0].timezone if series.sessions else "UTC"
    status = view.status
    return {
        "series_id": series.id,
        "client_id": series.client_id,
        "therapist_id": series.therapist_id,
        "location_id": series.office_id,
        "kind": series.kind,
        "cadence_weeks": series.cadence_weeks,
        "continues_series_id": series.continues_series_id,
        "session_count": series.session_count,
        "problem_area": series.problem_area,
        "status": series.status,
        "current_phase": status.phase,
        "termination_starts_at": status.termination_starts_at,
        "termination_starts_on": (
            status.termination_starts_on.isoformat() if status.termination_starts_on else None
        ),
        "termination_reached": status.termination_reached,
        "sessions_left": status.sessions_left,
        "sessions": [_session(s) for s in view.sessions],
        "weeks": [
            {
                "week": w.index,
                "starts_on": w.starts_on.isoformat(),
                "sessions": [
                    {
                        "id": s.id,
                        "number": s.number,
                        "attendance": s.attendance,
                        "cancelled_by": s.cancelled_by,
                        "made_up": s.made_up,
                        "is_make_up": s.is_make_up,
                    }
                    for s in w.sessions
                ],
            }
            for w in view.weeks
        ],
        "measures": {k: [_point(p, zone) for p in v] for k, v in view.measures.items()},
        "measure_plan": measure_plan(series),
        "severity_bands": bands(),
        "alerts": [
            {"id": a.id, "status": a.status, "session_id": a.session_id, "kind": a.kind}
            for a in view.alerts
        ],
    }


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def outcome(row: OutcomeRow) -> dict[str, Any]:
    return {
        "location_id": row.office_id or None,
        "office": row.office_name,
        "therapist_id": row.therapist_id,
        "therapist": row.therapist_name,
        "started": row.started,
        "completed": row.completed,
        "dropped": row.dropped,
        "ongoing": row.ongoing,
        "attendance_rate": _rate(row.attendance_rate),
        "attended": row.attended,
        "attendance_base": row.attendance_base,
        "confirmed_by_text_share": _rate(row.confirmed_share),
        "confirmed": row.confirmed,
        "confirm_base": row.confirm_base,
        "phq9_courses": row.phq9_courses,
        "phq9_mean_change": None if row.phq9_change is None else round(row.phq9_change, 2),
    }


def report(r: CourseReport) -> dict[str, Any]:
    return {
        "from": r.start.isoformat(),
        "to": r.end.isoformat(),
        "as_of": r.as_of.isoformat(),
        "rows": [outcome(row) for row in r.rows],
        "offices": [outcome(row) for row in r.offices],
        "total": outcome(r.total),
    }
