"""The course as a whole on the schedule's pages: the termination phase on the series page and
the therapist's week, the "offer maintenance" task, "Book maintenance" through the booking form,
and "measure due" (all the front desk learns of measures) on the day sheet and series page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.db.models import Series, User
from scheduler.db.models.inbound import InboxItem
from tests.web.course_support import Practice, book, clock, practice
from tests.web.pages_support import csrf, sign_in, staff

__all__ = ["clock", "practice"]  # fixtures

DESK = "desk.page@test.invalid"
ADA = "ada.page@test.invalid"


def at(session: dict) -> datetime:
    return datetime.fromisoformat(session["starts_at"])


def signed_in(client: FlaskClient, db: Session, email: str, **kw) -> FlaskClient:
    """Signed in (again: moving the clock by weeks ends a sign-in, as it would)."""
    if db.scalar(select(User.id).where(User.email == email)) is None:
        staff(db, email, **kw)
    assert sign_in(client, email).status_code == 302
    return client


def in_termination(p: Practice, clock, course: dict | None = None) -> dict:
    """A 12-session course with visit 9 attended: visit 10 is next, the offer task is open."""
    course = course or book(p)
    ninth = course["sessions"][8]
    clock.at = at(ninth) + timedelta(minutes=55)
    r = p.api.patch(f"/sessions/{ninth['id']}", {"status": "attended"})
    assert r.status_code == 200, r.json
    return course


def text(response) -> str:
    return response.get_data(as_text=True)


def test_series_page_shows_the_termination_phase_and_the_open_offer(practice, db, client, clock):
    course = book(practice)
    signed_in(client, db, DESK)
    early = text(client.get(f"/series/{course['id']}"))
    assert "The termination phase starts with session 10" in early
    assert "termination phase</span>" not in early and "To do" not in early
    in_termination(practice, clock, course)
    signed_in(client, db, DESK)
    page = text(client.get(f"/series/{course['id']}"))
    assert "termination phase</span> 3 visits left" in page
    [task] = db.scalars(select(InboxItem).where(InboxItem.kind == "offer_maintenance")).all()
    assert "To do" in page and f"#item-{task.id}" in page
    assert f'href="/book?continues={course["id"]}"' in page
    # The desk's inbox shows the task with its "Book maintenance" link.
    inbox = text(client.get("/inbox"))
    assert "Offer maintenance" in inbox and f"/book?continues={course['id']}" in inbox
    # The clinical course view is not offered to the desk.
    assert f"/series/{course['id']}/course" not in page


def test_therapists_week_marks_the_termination_phase(practice, db, client, clock):
    course = in_termination(practice, clock)
    signed_in(client, db, ADA, role="therapist", therapist_id=practice.therapist["id"])
    tenth = course["sessions"][9]
    page = text(client.get(f"/therapists/{practice.therapist['id']}?start={tenth['local_date']}"))
    assert re.search(r"phase-termination[^>]*>termination", page)
    assert "2 visits left after this one" in page
    series_page = text(client.get(f"/series/{course['id']}"))
    # The therapist reaches the course view from the series page, and books nothing.
    assert f"/series/{course['id']}/course" in series_page
    assert "/book?continues=" not in series_page


def test_book_maintenance_through_the_form_end_to_end(practice, db, client, clock):
    course = in_termination(practice, clock)
    signed_in(client, db, DESK)
    form_page = client.get(f"/book?continues={course['id']}")
    assert form_page.status_code == 200
    html = text(form_page)
    assert "Book maintenance sessions" in html and "Continues" in html
    assert re.search(r'selected value="maintenance"', html)
    assert re.search(r'<option selected value="4">Every 4 weeks', html)
    assert html.count(f'name="continues_series_id" type="hidden" value="{course["id"]}"') == 1
    assert re.search(r'id="session_count" max="12" min="1"[^>]*value="6"', html)
    data = {
        "csrf_token": csrf(client, "/book"),
        "client_mode": "existing",
        "client_id": str(course["client_id"]),
        "location_id": "seattle",
        "therapist_id": str(practice.therapist["id"]),
        "room": "",
        "first_session_date": "2027-12-21",
        "start_time": "17:00",
        "session_count": "6",
        "duration_minutes": "50",
        "problem_area": "role_transition",
        "kind": "maintenance",
        "cadence_weeks": "4",
        "continues_series_id": str(course["id"]),
        "action": "book",
    }
    done = client.post("/book", data=data)
    assert done.status_code == 302, text(done)
    made = db.scalars(select(Series).where(Series.continues_series_id == course["id"])).one()
    assert (made.kind, made.cadence_weeks, made.session_count) == ("maintenance", 4, 6)
    assert (made.client_id, made.therapist_id, made.office_id) == (
        course["client_id"],
        practice.therapist["id"],
        "seattle",
    )
    dates = [s.local_date.isoformat() for s in made.sessions]
    assert dates[:3] == ["2027-12-21", "2028-01-18", "2028-02-15"]
    page = text(client.get(done.headers["Location"]))
    assert "maintenance</span>" in page and "every 4 weeks" in page
    assert page.count('data-label="Phase">maintenance') == 6  # every session's phase
    # The offer task is done, and the course links to its maintenance series.
    [task] = db.scalars(select(InboxItem).where(InboxItem.kind == "offer_maintenance")).all()
    db.refresh(task)
    assert task.status == "resolved" and f"#{made.id}" in (task.note or "")
    course_page = text(client.get(f"/series/{course['id']}"))
    assert f'href="/series/{made.id}"' in course_page and "/book?continues=" not in course_page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"session_count": "13"}, "must be between 1 and 12"),
        ({"cadence_weeks": "3"}, "Not a valid choice"),
        ({"kind": "monthly"}, "Not a valid choice"),
    ],
)
def test_bad_maintenance_form_is_refused_naming_the_field(
    practice, db, client, clock, change, message
):
    course = book(practice)
    signed_in(client, db, DESK)
    data = {
        "csrf_token": csrf(client, "/book"),
        "client_mode": "existing",
        "client_id": str(course["client_id"]),
        "location_id": "seattle",
        "therapist_id": str(practice.therapist["id"]),
        "first_session_date": "2027-12-21",
        "start_time": "17:00",
        "session_count": "6",
        "duration_minutes": "50",
        "problem_area": "role_transition",
        "kind": "maintenance",
        "cadence_weeks": "4",
        "continues_series_id": str(course["id"]),
        "action": "book",
    } | change
    before = db.scalar(select(func.count()).select_from(Series))
    refused = client.post("/book", data=data)
    assert refused.status_code == 422
    assert message in text(refused)
    assert db.scalar(select(func.count()).select_from(Series)) == before


def test_desk_sees_measure_due_and_nothing_clinical(practice, db, client, clock):
    course = book(practice)
    first, second = course["sessions"][0], course["sessions"][1]
    signed_in(client, db, DESK)
    day = text(client.get(f"/offices/seattle/day?date={first['local_date']}"))
    assert "measure due" in day
    assert "PHQ" not in day and "GAD" not in day
    series_page = text(client.get(f"/series/{course['id']}"))
    assert series_page.count("measure due") == 4  # sessions 1, 4, 8 and 12
    # Once it is in, the tag goes; the desk learns no score.
    clock.at = at(first) + timedelta(minutes=5)
    r = practice.therapist_api.post(
        f"/sessions/{first['id']}/measures",
        {"instrument": "phq9", "answers": [3, 3, 3, 3, 3, 3, 3, 3, 0]},
    )
    assert r.status_code == 201, r.json
    signed_in(client, db, DESK)
    day = text(client.get(f"/offices/seattle/day?date={first['local_date']}"))
    assert "measure due" not in day
    series_page = text(client.get(f"/series/{course['id']}"))
    assert series_page.count("measure due") == 3
    assert "severe" not in series_page and "score" not in series_page
    second_day = text(client.get(f"/offices/seattle/day?date={second['local_date']}"))
    assert "measure due" not in second_day  # session 2 is not a measure point


def test_handover_is_offered_only_around_the_session(practice, db, client, clock):
    course = book(practice)
    first, fourth = course["sessions"][0], course["sessions"][3]
    signed_in(client, db, DESK)
    far = text(client.get(f"/sessions/{fourth['id']}"))
    assert "measure due" in far and "Hand this device to the client" not in far
    assert "from the day before the session to the day after" in far
    clock.at = at(first) - timedelta(hours=2)
    signed_in(client, db, DESK)
    near = text(client.get(f"/sessions/{first['id']}"))
    assert "Hand this device to the client" in near


def test_the_therapist_changes_the_measure_plan_on_the_course_view(practice, db, client, clock):
    course = book(practice)
    signed_in(client, db, ADA, role="therapist", therapist_id=practice.therapist["id"])
    page = text(client.get(f"/series/{course['id']}/course"))
    assert "Change the measure plan" in page
    token = csrf(client, f"/series/{course['id']}/course")
    done = client.post(
        f"/series/{course['id']}/measure-plan",
        data={"csrf_token": token, "measure_schedule": "every_session", "measure_gad7": "y"},
    )
    assert done.status_code == 302
    series = db.get(Series, course["id"])
    db.refresh(series)
    assert (series.measure_schedule, series.measure_gad7) == ("every_session", True)
    page = text(client.get(f"/series/{course['id']}/course"))
    assert "Measure plan changed." in page and "PHQ-9 every session, with the GAD-7" in page
    # A bad choice changes nothing and says why.
    client.post(
        f"/series/{course['id']}/measure-plan",
        data={"csrf_token": token, "measure_schedule": "monthly"},
    )
    db.refresh(series)
    assert series.measure_schedule == "every_session"
    assert "Plan not changed: Not a valid choice" in text(
        client.get(f"/series/{course['id']}/course")
    )
    # The desk reads the schedule only: the plan is the clinician's.
    client.post("/signout", data={"csrf_token": token})
    signed_in(client, db, DESK)
    refused = client.post(
        f"/series/{course['id']}/measure-plan",
        data={"csrf_token": csrf(client, "/book"), "measure_schedule": "none"},
    )
    assert refused.status_code == 403
    db.refresh(series)
    assert series.measure_schedule == "every_session"
