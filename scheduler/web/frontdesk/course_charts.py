"""Turning the course view and the outcomes report into the charts' plain values."""

from __future__ import annotations

from markupsafe import Markup

from ...domain import measures as domain
from ...services.course import CourseSession, CourseView
from ...services.course_report import CourseReport
from .. import charts


def _week_state(sessions: tuple[CourseSession, ...]) -> tuple[str, str]:
    """The week's mark: what its (last) session says, with a short detail."""
    if not sessions:
        return "none", ""
    s = sessions[-1]
    detail = f"{s.local_date:%a} {s.local_date.day} {s.local_date:%b}"
    if s.number is not None:
        detail = f"session {s.number}, {detail}"
    if s.is_make_up:
        detail += " (make-up week)"
    if s.attendance == "cancelled":
        if s.made_up:
            return "made_up", detail
        return (
            "cancelled_practice" if s.cancelled_by == "practice" else "cancelled_client"
        ), detail
    return s.attendance, detail


def course_charts(view: CourseView) -> dict[str, Markup]:
    """The SVG charts of the course page: one per instrument used, attendance, ratings."""
    total = view.series.session_count
    out: dict[str, Markup] = {}
    for code in domain.INSTRUMENTS:
        points = view.measures.get(code)
        if not points:
            continue
        spec = domain.spec(code)
        out[code] = Markup(  # built by charts.py, which escapes every text
            charts.measure_chart(
                title=f"{spec.name} scores by session",
                bands=spec.bands,
                max_score=spec.max_score,
                points=[
                    charts.ScorePoint(p.number, p.score, p.severity)
                    for p in points
                    if p.number is not None
                ],
                session_count=total,
            )
        )
    marks = []
    for week in view.weeks:
        state, detail = _week_state(week.sessions)
        marks.append(charts.WeekMark(week.index, state, detail))
    out["attendance"] = Markup(charts.attendance_chart(marks))
    ratings = [
        (s.number, s.ratings[-1]) for s in view.sessions if s.ratings and s.number is not None
    ]
    out["ratings"] = Markup(charts.ratings_chart(ratings, session_count=total))
    return out


def report_chart(report: CourseReport) -> Markup:
    bars = [
        charts.OutcomeBar(
            f"{r.office_name} · {r.therapist_name}", r.completed, r.dropped, r.ongoing
        )
        for r in report.rows
    ]
    return Markup(charts.outcomes_chart(bars))
