"""File downloads the API and the pages both offer."""

from __future__ import annotations

from flask import Response

from ..services.course_report import CourseReport, as_csv


def course_report_csv(report: CourseReport) -> Response:
    """The outcomes report as a CSV attachment named after its period."""
    name = f"course-outcomes-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    return Response(
        as_csv(report),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
