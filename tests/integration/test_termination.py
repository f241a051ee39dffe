"""Termination planning: the "offer maintenance" task opens for the front desk two sessions
before the end, once, and follows renegotiation, the end of the series and a booked follow-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select

from scheduler.db.models import Series
from scheduler.db.models.inbound import InboxItem
from scheduler.services import booking, inbox, session_changes, termination
from scheduler.services.termination import course_status
from tests import factories
from tests.integration.dispatch_support import Clock

FIRST = date(2027, 8, 31)  # a Tuesday; 17:00 in Seattle is 00:00 UTC the next day


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2027, 8, 30, 16, 0, tzinfo=UTC))


@pytest.fixture
def tctx(ctx, clock):
    return replace(ctx, clock=clock)


def offers(db, series_id: int) -> list[InboxItem]:
    db.expire_all()
    query = select(InboxItem).where(
        InboxItem.series_id == series_id, InboxItem.kind == "offer_maintenance"
    )
    return list(db.scalars(query.order_by(InboxItem.id)))


def counting(series: Series, number: int):
    return next(s for s in series.sessions if s.counts and s.number == number)


@pytest.fixture
def course(db, tctx):
    return factories.series(db, tctx, first=FIRST, at=time(17), count=12)


def test_task_opens_when_visit_n_minus_3_has_ended_not_before(db, tctx, clock, course):
    ninth = counting(course, 9)
    clock.now = ninth.ends_at - timedelta(minutes=1)
    assert termination.sweep(db, tctx) == 0
    assert offers(db, course.id) == []
    clock.now = ninth.ends_at
    assert termination.sweep(db, tctx) == 1
    [task] = offers(db, course.id)
    assert task.status == "open" and task.office_id == "seattle" and not task.admins_only
    assert task.session_id == counting(course, 10).id and task.client_id == course.client_id
    assert "visit 10 of 12" in task.summary and "Offer maintenance" in task.summary
    assert "Tue 2 Nov at 5:00 PM" in task.summary, task.summary
    # Idempotent: sweeping again, or any change to the series, opens nothing more.
    clock.now += timedelta(hours=1)
    assert termination.sweep(db, tctx) == 0
    session_changes.mark(db, tctx, ninth.id, "attended", actor="desk@test")
    assert len(offers(db, course.id)) == 1


def test_marking_the_session_opens_it_at_once_without_waiting_for_housekeeping(
    db, tctx, clock, course
):
    ninth = counting(course, 9)
    clock.now = ninth.ends_at + timedelta(minutes=5)
    session_changes.mark(db, tctx, ninth.id, "attended", actor="therapist@test")
    assert [t.status for t in offers(db, course.id)] == ["open"]


def test_series_json_says_when_termination_is_reached(db, tctx, clock, course):
    status = course_status(course, clock.now)
    assert (status.phase, status.termination_starts_at, status.termination_reached) == (
        "initial",
        10,
        False,
    )
    assert status.termination_starts_on == FIRST + timedelta(weeks=9)
    clock.now = counting(course, 9).ends_at
    status = course_status(course, clock.now)
    assert (status.phase, status.termination_reached, status.sessions_left) == (
        "termination",
        True,
        3,
    )


def test_renegotiating_n_withdraws_the_task_and_it_opens_again_near_the_new_end(
    db, tctx, clock, course
):
    clock.now = counting(course, 9).ends_at
    termination.sweep(db, tctx)
    session_changes.renegotiate(db, tctx, course.id, 16, actor="desk@test")
    [withdrawn] = offers(db, course.id)
    assert withdrawn.status == "resolved" and withdrawn.resolved_by == "system"
    assert "16 sessions" in (withdrawn.note or "")
    assert termination.sweep(db, tctx) == 0
    clock.now = counting(course, 13).ends_at
    assert termination.sweep(db, tctx) == 1
    latest = offers(db, course.id)[-1]
    assert latest.status == "open" and latest.session_id == counting(course, 14).id
    assert "visit 14 of 16" in latest.summary


def test_a_task_staff_resolved_is_final(db, tctx, clock, course):
    clock.now = counting(course, 9).ends_at
    termination.sweep(db, tctx)
    [task] = offers(db, course.id)
    inbox.update_item(
        db, task.id, status="resolved", note="Offered; declined", actor="desk@test", at=clock.now
    )
    session_changes.renegotiate(db, tctx, course.id, 14, actor="desk@test")
    clock.now = counting(course, 11).ends_at
    assert termination.sweep(db, tctx) == 0
    assert [t.status for t in offers(db, course.id)] == ["resolved"]


def test_ending_the_series_withdraws_the_task(db, tctx, clock, course):
    clock.now = counting(course, 9).ends_at
    termination.sweep(db, tctx)
    session_changes.cancel_rest(
        db, tctx, course.id, cancelled_by="client", reason=None, actor="desk@test"
    )
    [task] = offers(db, course.id)
    assert task.status == "resolved" and "ended" in (task.note or "")


def test_booking_maintenance_that_continues_the_course_resolves_the_task(db, tctx, clock, course):
    clock.now = counting(course, 9).ends_at
    termination.sweep(db, tctx)
    req = booking.SeriesRequest(
        client_id=course.client_id,
        therapist_id=course.therapist_id,
        location_id="seattle",
        first_session_date=date(2027, 12, 2),
        start_time=time(17),
        session_count=3,
        problem_area="role_transition",
        kind="maintenance",
        cadence_weeks=4,
        continues_series_id=course.id,
    )
    booking.book_series(db, tctx, req, actor="desk@test")
    [task] = offers(db, course.id)
    assert task.status == "resolved" and task.resolved_by == "desk@test"
    assert "Maintenance series" in (task.note or "")
    # A course that already has its follow-up booked gets no new task either.
    session_changes.renegotiate(db, tctx, course.id, 16, actor="desk@test")
    clock.now = counting(course, 13).ends_at
    assert termination.sweep(db, tctx) == 0


def test_maintenance_series_get_no_task(db, tctx, clock):
    m = factories.series(
        db, tctx, first=FIRST, at=time(17), count=3, kind="maintenance", cadence_weeks=4
    )
    clock.now = m.sessions[-1].ends_at + timedelta(days=1)
    assert termination.sweep(db, tctx) == 0
    assert offers(db, m.id) == []
    assert course_status(m, clock.now).termination_starts_at is None


def test_the_workers_housekeeping_opens_due_tasks(container, clock):
    from scheduler.worker import Runtime, housekeeping_job

    container.clock = clock
    with container.sessions.begin() as db:
        course = factories.series(db, container.ctx, first=FIRST, at=time(17), count=12)
        ends = counting(course, 9).ends_at
        series_id = course.id
    clock.now = ends + timedelta(minutes=1)
    runtime = Runtime(container, gateway=None, dispatcher=None, worker_id="test")  # type: ignore[arg-type]
    housekeeping_job(runtime)
    with container.sessions() as db:
        assert [t.status for t in offers(db, series_id)] == ["open"]


def test_book_maintenance_is_prefilled_from_the_course(db, tctx, course):
    req = termination.maintenance_request(course)
    assert (req.kind, req.cadence_weeks, req.session_count) == ("maintenance", 4, 6)
    assert req.continues_series_id == course.id and req.client_id == course.client_id
    assert req.first_session_date == FIRST + timedelta(weeks=11 + 4)  # a Tuesday, 4 weeks on
    assert req.start_time == time(17) and req.problem_area == course.problem_area
    booked = booking.book_series(db, tctx, req, actor="desk@test").series
    assert [s.phase for s in booked.sessions] == ["maintenance"] * 6


def test_book_maintenance_starts_on_a_day_the_office_is_open(db, tctx):
    """Four weeks after a course ending Monday 20 December 2027 is Martin Luther King Jr. Day:
    the prefilled first date moves a week on, rather than being skipped and made up at the
    end (two months without a visit)."""
    course = factories.series(db, tctx, first=date(2027, 10, 25), at=time(17), count=9)
    assert max(s.local_date for s in course.sessions) == date(2027, 12, 20)
    plain = termination.maintenance_request(course)
    assert plain.first_session_date == date(2028, 1, 17)  # the holiday, without the office
    req = termination.maintenance_request(course, tctx.locations["seattle"])
    assert req.first_session_date == date(2028, 1, 24)
    booked = booking.book_series(db, tctx, req, actor="desk@test").series
    dates = [s.local_date for s in booked.sessions]
    # Presidents' Day (21 February) is skipped and made up four weeks after the last.
    assert dates == [
        date(2028, 1, 24),
        date(2028, 3, 20),
        date(2028, 4, 17),
        date(2028, 5, 15),
        date(2028, 6, 12),
        date(2028, 7, 10),
    ]
    assert all((b - a).days % 28 == 0 for a, b in pairwise(dates))
