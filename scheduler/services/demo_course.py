"""The demo's courses as a whole: questionnaires along the way, a course in its termination
phase (its "offer maintenance" task waiting in Tucson's inbox) and a completed course that
continues as monthly maintenance, so the series pages, the course view and the outcomes
report show something real.

Like `demo_history`, everything is written through the use cases staff and clients use, each
with the clock set to when it happened. Answers are chosen to show a believable course (scores
falling over the weeks), and no PHQ-9 item 9 is above "Not at all": the demo opens no alert, so
no page carries the red banner until someone tries the safe path.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from ..db.models import Client, Series, Therapist
from ..domain.phases import offer_maintenance_before
from . import booking, measures, session_changes, termination
from .context import ServiceContext
from .demo_common import OFFICE, as_of, open_weekday, tucson_client

DESK = "desk@demo.invalid"
THERAPIST = "ana.reyes@demo.invalid"

# PHQ-9 answers (nine items, 0-3; item 9 always 0) by session number: a course improving.
PHQ9_COURSE = {
    1: [2, 2, 2, 3, 2, 2, 2, 1, 0],  # 16, moderately severe
    4: [2, 2, 1, 2, 2, 1, 1, 1, 0],  # 12, moderate
    8: [1, 1, 1, 1, 1, 1, 1, 1, 0],  # 8, mild
    12: [1, 0, 1, 1, 0, 0, 0, 0, 0],  # 3, minimal
}
GAD7_COURSE = {
    1: [2, 2, 2, 1, 1, 2, 1],  # 11, moderate
    4: [1, 2, 1, 1, 1, 1, 1],  # 8, mild
    8: [1, 1, 1, 0, 1, 0, 1],  # 5, mild
    12: [1, 0, 1, 0, 0, 0, 1],  # 3, minimal
}
PHQ9_MAINTENANCE = [0, 1, 0, 1, 0, 0, 1, 0, 0]  # 3, minimal


def seed_courses(db: Session, ctx: ServiceContext, ana: Therapist, elena: Series) -> None:
    """Questionnaires on Elena's course; Nora in termination; Walter in maintenance."""
    now = ctx.clock()
    loc = ctx.locations[OFFICE]
    today = now.astimezone(loc.tz).date()
    _questionnaires(db, ctx, elena, now)
    # Nora: a different weekday from today's (today's has the demo's session an hour ago),
    # some ten weeks in, so the offer task, opened when visit 9 of 12 ended, is waiting.
    nora = tucson_client(db, ctx, "Nora", "Patel", "+15205550186")
    first = _offer_due_from(ctx, nora, ana, today - timedelta(weeks=10, days=-1), time(13), now)
    course = _past_course(db, ctx, ana, nora, first, time(13))
    _questionnaires(db, ctx, course, now)
    _attend(db, ctx, course, now, no_show=(6,))
    # Walter: a 12-week course finished two months ago, now seen every four weeks.
    walter = tucson_client(db, ctx, "Walter", "Nguyen", "+15205550193")
    done = _past_course(db, ctx, ana, walter, today - timedelta(weeks=20, days=-2), time(9))
    _questionnaires(db, ctx, done, now)
    _attend(db, ctx, done, now)
    _maintenance(db, ctx, done, now)


WEEK = timedelta(weeks=1)


def _offer_due_from(
    ctx: ServiceContext, client: Client, ana: Therapist, first: date, at: time, now: datetime
) -> date:
    """`first`, or as many weeks before it as the office's closures need, so that the visit
    after which the desk is asked to offer maintenance has ended by `now`.

    Ten weeks back reach visit 10 or 11 when no more than one holiday was skipped; two
    Monday holidays in a row (January's and February's) left a Monday course at visit 8."""
    first = open_weekday(ctx, first)
    request = _request(client, ana, first, at)
    ended = offer_maintenance_before(request.session_count) - 1  # visit N-3
    for _ in range(10):  # a closure a week would still be found in ten
        planned = booking.plan(ctx, request, ctx.locations[OFFICE]).sessions
        if planned[ended - 1].ends_at <= now:
            return request.first_session_date
        request = replace(request, first_session_date=request.first_session_date - WEEK)
    raise RuntimeError("the demo found no first date that brings its course near its end")


def _request(client: Client, ana: Therapist, first: date, at: time) -> booking.SeriesRequest:
    return booking.SeriesRequest(
        client_id=client.id,
        therapist_id=ana.id,
        location_id=OFFICE,
        first_session_date=first,
        start_time=at,
        session_count=12,
        problem_area="grief" if at.hour == 9 else "role_dispute",
        room="Room 3",
        measure_gad7=at.hour != 9,
    )


def _past_course(
    db: Session, ctx: ServiceContext, ana: Therapist, client: Client, first: date, at: time
) -> Series:
    loc = ctx.locations[OFFICE]
    first = open_weekday(ctx, first)
    request = _request(client, ana, first, at)
    booked_at = datetime.combine(first - timedelta(days=2), time(11), loc.tz)
    return booking.book_series(db, as_of(ctx, booked_at), request, actor=DESK).series


def _attend(
    db: Session, ctx: ServiceContext, series: Series, now: datetime, no_show: tuple[int, ...] = ()
) -> None:
    """Mark every past session (as the desk does right after it)."""
    for s in list(series.sessions):
        if s.ends_at > now or s.status != "scheduled":
            continue
        status: Literal["attended", "no_show"] = "no_show" if s.number in no_show else "attended"
        session_changes.mark(db, as_of(ctx, s.ends_at), s.id, status, actor=DESK)


def _questionnaires(db: Session, ctx: ServiceContext, series: Series, now: datetime) -> None:
    """What the plan asked at the sessions held so far, answered in the office."""
    for s in list(series.sessions):
        if s.ends_at > now or s.status not in ("attended", "scheduled"):
            continue
        answered_at = as_of(ctx, s.starts_at - timedelta(minutes=10))
        for instrument in measures.planned_for(series, s.number):
            if series.kind == "maintenance":
                answers = PHQ9_MAINTENANCE if instrument == "phq9" else None
            else:
                answers = (PHQ9_COURSE if instrument == "phq9" else GAD7_COURSE).get(s.number)
            if answers is not None:
                measures.record(
                    db, answered_at, s.id, instrument, answers, source="office", actor=DESK
                )


def _maintenance(db: Session, ctx: ServiceContext, course: Series, now: datetime) -> None:
    """The "book maintenance" the series page offers, taken the week the course ended."""
    held = [s for s in course.sessions if s.status != "cancelled"]
    booked_at = max(s.ends_at for s in held) + timedelta(hours=1)
    request = termination.maintenance_request(course)
    follow_up = booking.book_series(db, as_of(ctx, booked_at), request, actor=DESK).series
    _questionnaires(db, ctx, follow_up, now)
    _attend(db, ctx, follow_up, now)
