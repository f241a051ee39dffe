"""The course as a whole where the schedule is shown: the termination phase and the maintenance
offer on the series page and the therapist's week, and "measure due" on the day sheet.

"Measure due" is all the front desk learns of measures: whether a questionnaire is to be
handed over, never which one, its score or its answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ...db.models import Series, TherapySession
from ...db.models.inbound import InboxItem
from ...services import access as policy
from ...services import measures, termination
from ...services.termination import CourseStatus
from ..context import db
from ..reach import allowed, viewer

# A planned questionnaire stays "due" until half a day after its session (it may still be
# handed over after the visit); later it is simply missing, which the course view shows.
_DUE_UNTIL = timedelta(hours=12)


@dataclass(frozen=True)
class CourseBox:
    """What the series page says about the course: where it stands and what comes after it."""

    status: CourseStatus
    offer: InboxItem | None  # the "offer maintenance" task (open, else the latest)
    continues: Series | None  # the course a maintenance series continues, if reachable
    follow_ups: list[Series]  # maintenance series continuing this course
    may_book_maintenance: bool
    may_see_course: bool  # the clinical course view (therapist and admins)


def course_box(series: Series, now: datetime) -> CourseBox:
    continues = None
    if series.continues_series_id is not None:
        found = db().get(Series, series.continues_series_id)
        continues = found if found is not None and policy.can_read(db(), viewer(), found) else None
    follow_ups = termination.follow_ups(db(), series.id) if series.kind == "acute" else []
    live = [f for f in follow_ups if f.status == "active"]
    return CourseBox(
        status=termination.course_status(series, now),
        offer=termination.offer_task(db(), series.id) if series.kind == "acute" else None,
        continues=continues,
        follow_ups=follow_ups,
        may_book_maintenance=series.kind == "acute"
        and not live
        and allowed("book", series.office_id)
        and allowed("change_schedule", series),
        may_see_course=allowed("read_clinical", series),
    )


def measure_due(sessions: Sequence[TherapySession], now: datetime) -> dict[int, bool]:
    """Per session: a questionnaire is to be handed over (the plan asks, none is in yet)."""
    due = measures.measure_due(db(), sessions)
    return {
        s.id: due.get(s.id, False) and s.status != "cancelled" and s.ends_at + _DUE_UNTIL > now
        for s in sessions
    }


def statuses(series: Sequence[Series], now: datetime) -> dict[int, CourseStatus]:
    """Each series' course status (the therapist's week marks the termination phase)."""
    return {s.id: termination.course_status(s, now) for s in series}
