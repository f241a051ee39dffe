"""The course view (API and page), its SVG charts, and the outcomes report's API, CSV and page."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from scheduler.db.models import InboundMessage, ProgressRating
from tests.web.course_support import book, clock, practice
from tests.web.pages_support import sign_in

__all__ = ["clock", "practice"]  # fixtures


def at(session: dict) -> datetime:
    return datetime.fromisoformat(session["starts_at"])


def rate(db: Session, client_id: int, session_id: int, rating: int, when: datetime) -> None:
    message = InboundMessage(
        message_sid=f"SM{session_id:032d}",
        from_number="+12065550142",
        to_number="+12065550191",
        office_id="seattle",
        client_id=client_id,
        body=str(rating),
        keyword="rating",
        rating=rating,
        outcome="rating",
        received_at=when,
    )
    db.add(message)
    db.flush()
    db.add(
        ProgressRating(
            client_id=client_id,
            session_id=session_id,
            inbound_message_id=message.id,
            rating=rating,
            received_at=when,
        )
    )
    db.commit()


def seeded_course(p, db, clock) -> dict:
    """Visit 1 attended with a goal, a rating and a PHQ-9 of 14; visit 2 a no-show; the third
    week cancelled by the practice (made up at the end); visit 3 cancelled by the client;
    visit 4 attended with a PHQ-9 of 8."""
    course = book(p)
    s = course["sessions"]
    p.therapist_api.patch(f"/sessions/{s[0]['id']}", {"weekly_goal": "Call my sister"})
    p.api.patch(f"/sessions/{s[2]['id']}", {"status": "cancelled", "cancelled_by": "practice"})
    p.api.patch(f"/sessions/{s[3]['id']}", {"status": "cancelled", "cancelled_by": "client"})
    clock.at = at(s[0]) + timedelta(minutes=5)
    p.therapist_api.post(
        f"/sessions/{s[0]['id']}/measures",
        {"instrument": "phq9", "answers": [2, 2, 2, 2, 2, 2, 1, 1, 0]},
    )
    p.therapist_api.patch(f"/sessions/{s[0]['id']}", {"status": "attended"})
    rate(db, course["client_id"], s[0]["id"], 4, at(s[0]) + timedelta(days=2))
    clock.at = at(s[1]) + timedelta(minutes=5)
    p.therapist_api.patch(f"/sessions/{s[1]['id']}", {"status": "no_show"})
    clock.at = at(s[4]) + timedelta(minutes=5)
    r = p.therapist_api.post(
        f"/sessions/{s[4]['id']}/measures",
        {"instrument": "phq9", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 0]},
    )
    assert r.status_code == 201, r.json
    p.therapist_api.patch(f"/sessions/{s[4]['id']}", {"status": "attended"})
    return course


def test_course_api_shows_numbers_phases_attendance_goals_ratings_and_measures(practice, db, clock):
    course = seeded_course(practice, db, clock)
    r = practice.therapist_api.get(f"/series/{course['id']}/course")
    assert r.status_code == 200, r.json
    view = r.json
    rows = [
        (s["number"], s["phase"], s["attendance"], s["cancelled_by"], s["made_up"])
        for s in view["sessions"][:6]
    ]
    assert rows == [
        (1, "initial", "attended", None, False),
        (2, "initial", "no_show", None, False),
        (None, None, "cancelled", "practice", True),
        (3, "initial", "cancelled", "client", False),
        (4, "middle", "attended", None, False),
        (5, "middle", "scheduled", None, False),
    ]
    assert view["sessions"][-1]["is_make_up"] is True and view["sessions"][-1]["number"] == 12
    assert len(view["sessions"]) == 13 and len(view["weeks"]) == 13
    assert view["weeks"][2]["sessions"][0]["made_up"] is True
    first = view["sessions"][0]
    assert first["weekly_goal"] == "Call my sister" and first["ratings"] == [4]
    assert [(m["number"], m["score"], m["severity"]) for m in view["measures"]["phq9"]] == [
        (1, 14, "moderate"),
        (4, 8, "mild"),
    ]
    assert view["sessions"][4]["measures"][0]["score"] == 8
    assert view["measure_plan"]["session_numbers"] == [1, 4, 8, 12]
    assert [s["measures_due"] for s in view["sessions"] if s["number"] == 8] == [["phq9"]]
    assert view["severity_bands"]["gad7"][-1] == {"from": 15, "to": 21, "severity": "severe"}
    assert view["current_phase"] == "middle" and view["termination_starts_at"] == 10


def test_course_page_draws_svg_charts_that_read_without_javascript(practice, db, clock, client):
    course = seeded_course(practice, db, clock)
    sign_in(client, "ada.login@test.invalid")
    page = client.get(f"/series/{course['id']}/course")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") == 3  # PHQ-9, attendance, ratings
    assert "<script" not in html.split("<main", 1)[1]
    for svg in html.split("<svg")[1:]:
        root = ET.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")
        assert root.get("role") == "img"
        assert all("style" not in el.attrib for el in root.iter())  # CSP: no inline styles
    assert "From 14 (moderate) at session 1 to 8 (mild) at session 4." in html
    assert "moderately severe 15–19" in html
    assert "Call my sister" in html


def test_only_the_treating_therapist_and_admins_open_the_course_page(practice, db, app, clock):
    course = book(practice)
    path = f"/series/{course['id']}/course"
    for email, status in (
        ("desk@test.invalid", 403),
        ("ben.login@test.invalid", 404),
        ("admin@test.invalid", 200),
    ):
        browser = app.test_client()
        sign_in(browser, email)
        assert browser.get(path).status_code == status, email


def test_report_api_csv_and_page_for_admins_only(practice, db, clock, client):
    seeded_course(practice, db, clock)
    clock.at = datetime.fromisoformat("2027-12-01T12:00:00+00:00")
    r = practice.api.get("/reports/courses?from=2027-08-01&to=2027-09-30")
    assert r.status_code == 200, r.json
    [row] = r.json["rows"]
    assert (row["office"], row["therapist"], row["started"]) == ("Seattle", "Dr. Ada Byrne", 1)
    # 2 attended of 2 attended + 1 no-show + 1 client cancellation; dropped: no visit since.
    assert (row["attended"], row["attendance_base"], row["dropped"]) == (2, 4, 1)
    assert row["attendance_rate"] == 0.5 and row["phq9_mean_change"] == -6.0
    assert r.json["total"]["started"] == 1
    download = practice.api.get("/reports/courses?from=2027-08-01&to=2027-09-30&format=csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    lines = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert lines[0]["therapist"] == "Dr. Ada Byrne" and lines[0]["attendance_rate"] == "0.500"
    for who in (practice.desk_api, practice.therapist_api):
        assert who.get("/reports/courses").status_code == 403
    bad = practice.api.get("/reports/courses?from=2027-13-01")
    assert bad.status_code == 422 and "from" in bad.json["fields"]
    backwards = practice.api.get("/reports/courses?from=2027-09-01&to=2027-08-01")
    assert backwards.status_code == 422 and "to" in backwards.json["fields"]
    sign_in(client, "admin@test.invalid")
    page = client.get("/reports/courses?from=2027-08-01&to=2027-09-30")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "Dr. Ada Byrne" in html and "50%" in html
    csv_page = client.get("/reports/courses.csv?from=2027-08-01&to=2027-09-30")
    assert csv_page.status_code == 200 and csv_page.mimetype == "text/csv"


def test_reading_the_course_and_the_measures_is_audited(practice, db):
    from sqlalchemy import select

    from scheduler.db.models import AuditEntry

    course = book(practice)
    practice.therapist_api.get(f"/series/{course['id']}/course")
    practice.therapist_api.get(f"/series/{course['id']}/measures")
    practice.desk_api.get(f"/series/{course['id']}/course")  # refused: nothing recorded
    rows = db.scalars(
        select(AuditEntry).where(AuditEntry.action.in_(("course.viewed", "measures.viewed")))
    ).all()
    assert sorted((r.action, r.actor, r.entity_id) for r in rows) == [
        ("course.viewed", "ada.login@test.invalid", str(course["id"])),
        ("measures.viewed", "ada.login@test.invalid", str(course["id"])),
    ]
    assert {r.client_id for r in rows} == {course["client_id"]}
