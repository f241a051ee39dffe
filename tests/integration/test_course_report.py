"""The course outcomes report on a small seeded practice, every figure worked out by hand."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import event

from scheduler.db.models import Series, TherapySession
from scheduler.services import course_report, measures, session_changes
from tests import factories
from tests.integration.dispatch_support import Clock

AS_OF = datetime(2027, 12, 1, 20, 0, tzinfo=UTC)
PERIOD = (date(2027, 8, 1), date(2027, 11, 30))


def nth(series: Series, number: int) -> TherapySession:
    return next(s for s in series.sessions if s.counts and s.number == number)


class Seeder:
    def __init__(self, db, ctx, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self.ctx = replace(ctx, clock=clock)

    def course(self, therapist, office: str, first: date, at: time, count: int = 8, **kw) -> Series:
        self.clock.now = datetime(2027, 8, 30, 16, 0, tzinfo=UTC)
        client = factories.client(self.db, self.ctx, office)
        return factories.series(
            self.db,
            self.ctx,
            office=office,
            first=first,
            at=at,
            count=count,
            therapist_obj=therapist,
            client_obj=client,
            **kw,
        )

    def attend(self, series: Series, *numbers: int, status: str = "attended") -> None:
        self.clock.now = AS_OF
        for n in numbers:
            session_changes.mark(self.db, self.ctx, nth(series, n).id, status, actor="t")  # type: ignore[arg-type]

    def confirm(self, series: Series, *numbers: int) -> None:
        for n in numbers:
            nth(series, n).confirmed_at = nth(series, n).starts_at.replace(hour=0)

    def phq9(self, series: Series, number: int, total: int) -> None:
        session = nth(series, number)
        self.clock.now = session.starts_at
        # Spread over items 1-8; item 9 stays 0, so no alert is raised here.
        answers = [min(3, max(0, total - 3 * i)) for i in range(8)] + [0]
        assert sum(answers) == total
        measures.record(self.db, self.ctx, session.id, "phq9", answers, source="staff", actor="t")


@pytest.fixture
def seeded(db, ctx):
    seed = Seeder(db, ctx, Clock(AS_OF))
    ada = factories.therapist(db, seed.ctx, "seattle", name="Dr. Ada")
    bea = factories.therapist(db, seed.ctx, "seattle", name="Dr. Bea")
    cy = factories.therapist(db, seed.ctx, "tucson", name="Dr. Cy")

    # 1. Ada: completed; all 8 attended, 4 confirmed; PHQ-9 18 -> 12 -> 6 (change -12).
    one = seed.course(ada, "seattle", date(2027, 8, 31), time(17))
    seed.confirm(one, 1, 2, 3, 4)
    for number, total in ((1, 18), (4, 12), (8, 6)):
        seed.phq9(one, number, total)
    seed.attend(one, *range(1, 9))
    # 2. Ada: dropped, last visit 8 Sep; 2 attended + 1 no-show; one PHQ-9 only.
    two = seed.course(ada, "seattle", date(2027, 9, 1), time(17))
    seed.phq9(two, 1, 10)
    seed.attend(two, 1, 2)
    seed.attend(two, 3, status="no_show")
    # 3. Bea: completed; the client cancelled visit 2 (it used up a session); 7 attended of 8;
    #    1 of 7 held sessions confirmed; PHQ-9 20 -> 15 (change -5).
    three = seed.course(bea, "seattle", date(2027, 9, 2), time(10))
    seed.clock.now = datetime(2027, 9, 5, tzinfo=UTC)
    session_changes.cancel(
        seed.db, seed.ctx, nth(three, 2).id, cancelled_by="client", make_up=False, actor="d"
    )
    seed.confirm(three, 1)
    seed.phq9(three, 1, 20)
    seed.phq9(three, 8, 15)
    seed.attend(three, 1, 3, 4, 5, 6, 7, 8)
    # 6. Bea: ended early on 24 Nov after one attended visit on 22 Nov: dropped at once.
    six = seed.course(bea, "seattle", date(2027, 11, 22), time(12))
    seed.clock.now = datetime(2027, 11, 24, 18, 0, tzinfo=UTC)
    session_changes.cancel_rest(
        seed.db, seed.ctx, six.id, cancelled_by="client", reason=None, actor="d"
    )
    seed.attend(six, 1)
    # 4. Cy in Tucson: ongoing; 2 attended, both confirmed; visit 3 (30 Nov) not recorded.
    four = seed.course(cy, "tucson", date(2027, 11, 16), time(10))
    seed.confirm(four, 1, 2)
    seed.attend(four, 1, 2)
    # Not counted: a maintenance series, and a course that starts after the period.
    seed.course(ada, "seattle", date(2027, 11, 2), time(17), count=3, kind="maintenance",
                cadence_weeks=4)  # fmt: skip
    seed.course(ada, "seattle", date(2027, 12, 8), time(17))
    db.flush()
    return seed


def figures(row: course_report.OutcomeRow) -> tuple:
    return (
        row.started,
        row.completed,
        row.dropped,
        row.ongoing,
        row.attended,
        row.attendance_base,
        row.confirmed,
        row.confirm_base,
        row.phq9_courses,
        row.phq9_change,
    )


def test_figures_per_office_and_therapist(db, seeded):
    report = course_report.course_outcomes(db, *PERIOD, AS_OF)
    by_name = {(r.office_name, r.therapist_name): r for r in report.rows}
    assert list(by_name) == [("Seattle", "Dr. Ada"), ("Seattle", "Dr. Bea"), ("Tucson", "Dr. Cy")]
    assert figures(by_name["Seattle", "Dr. Ada"]) == (2, 1, 1, 0, 10, 11, 4, 16, 1, -12.0)
    assert figures(by_name["Seattle", "Dr. Bea"]) == (2, 1, 1, 0, 8, 9, 1, 8, 1, -5.0)
    assert figures(by_name["Tucson", "Dr. Cy"]) == (1, 0, 0, 1, 2, 2, 2, 3, 0, None)
    ada = by_name["Seattle", "Dr. Ada"]
    assert ada.attendance_rate == pytest.approx(10 / 11)
    assert ada.confirmed_share == pytest.approx(0.25)
    seattle, tucson = report.offices
    assert figures(seattle) == (4, 2, 2, 0, 18, 20, 5, 24, 2, -8.5)
    assert figures(tucson) == figures(by_name["Tucson", "Dr. Cy"])
    assert figures(report.total) == (5, 2, 2, 1, 20, 22, 7, 27, 2, -8.5)


def test_csv_has_the_same_figures(db, seeded):
    report = course_report.course_outcomes(db, *PERIOD, AS_OF)
    lines = list(csv.DictReader(io.StringIO(course_report.as_csv(report))))
    assert [line["therapist"] for line in lines] == [
        "Dr. Ada",
        "Dr. Bea",
        "Dr. Cy",
        "All therapists",
        "All therapists",
        "All therapists",
    ]
    ada = lines[0]
    assert (ada["courses_started"], ada["completed"], ada["dropped"]) == ("2", "1", "1")
    assert (ada["attendance_rate"], ada["confirmed_by_text_share"]) == ("0.909", "0.250")
    assert ada["phq9_mean_change"] == "-12.00"
    assert lines[-1]["office"] == "All offices" and lines[-1]["phq9_mean_change"] == "-8.50"


def test_a_period_with_nothing_in_it(db, seeded):
    report = course_report.course_outcomes(db, date(2026, 1, 1), date(2026, 12, 31), AS_OF)
    assert report.rows == () and report.total.started == 0
    assert report.total.attendance_rate is None and report.total.phq9_change is None


def test_the_number_of_statements_does_not_grow_with_the_rows(db, seeded, connection):
    statements: list[str] = []

    def count(*args) -> None:
        statements.append(args[2])

    event.listen(connection, "before_cursor_execute", count)
    try:
        course_report.course_outcomes(db, *PERIOD, AS_OF)
        few = len(statements)
        for week in range(6):
            extra = seeded.course(
                factories.therapist(db, seeded.ctx, "seattle", name=f"Dr. Extra {week}"),
                "seattle",
                date(2027, 9, 6 + week),
                time(9),
            )
            seeded.attend(extra, 1, 2)
        db.flush()
        statements.clear()
        course_report.course_outcomes(db, *PERIOD, AS_OF)
        assert len(statements) == few == 1
    finally:
        event.remove(connection, "before_cursor_execute", count)
