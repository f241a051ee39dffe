"""Maintenance series through the API: kind, cadence, the course they continue, the same
wall-clock, DST, holiday, make-up and conflict rules at a cadence of four weeks."""

from __future__ import annotations

from urllib.parse import urlparse

from sqlalchemy import func, select

from scheduler.db.models import Series
from tests.web.course_support import Practice, book, clock, new_client, practice, series_body

__all__ = ["clock", "practice"]  # fixtures


def maintenance(p: Practice, course_id: int | None, **over):
    body = {
        "kind": "maintenance",
        "cadence_weeks": 4,
        "first_session_date": "2027-10-14",
        "session_count": 3,
        "continues_series_id": course_id,
    }
    body.update(over)
    return p.api.post("/series", series_body(p, **body))


def test_course_defaults_to_acute_weekly(practice):
    course = book(practice)
    assert course["kind"] == "acute" and course["cadence_weeks"] == 1
    assert course["continues_series_id"] is None
    assert course["termination_starts_at"] == 10
    assert course["current_phase"] == "initial" and course["termination_reached"] is False
    assert course["measure_plan"] == {"schedule": "standard", "gad7": False}


def test_maintenance_every_four_weeks_across_fall_back_and_veterans_day(practice, client):
    course = book(practice)
    r = maintenance(practice, course["id"])
    assert r.status_code == 201, r.json
    m = r.json
    assert (m["kind"], m["cadence_weeks"], m["continues_series_id"]) == (
        "maintenance",
        4,
        course["id"],
    )
    assert [s["local_date"] for s in m["sessions"]] == ["2027-10-14", "2027-12-09", "2028-01-06"]
    assert [s["starts_at"] for s in m["sessions"]] == [
        "2027-10-14T17:00:00-07:00",
        "2027-12-09T17:00:00-08:00",
        "2028-01-06T17:00:00-08:00",
    ]
    assert m["skipped"] == [{"date": "2027-11-11", "reason": "Veterans Day (holiday)"}]
    assert {s["phase"] for s in m["sessions"]} == {"maintenance"}
    assert m["termination_starts_at"] is None and m["current_phase"] == "maintenance"
    # Maintenance asks for a questionnaire at every visit by default.
    assert m["measure_plan"]["schedule"] == "every_session"
    feed = client.get(urlparse(practice.therapist["feed_url"]).path).get_data(as_text=True)
    assert "J.Q. · IPT maint 1/3" in feed and "J.Q. · IPT maint 3/3" in feed
    assert "J.Q. · IPT 1/12" in feed


def test_practice_cancellation_is_made_up_one_cadence_after_the_last(practice):
    m = maintenance(practice, None).json
    second = m["sessions"][1]["id"]
    r = practice.api.patch(
        f"/sessions/{second}", {"status": "cancelled", "cancelled_by": "practice"}
    )
    assert r.status_code == 200, r.json
    after = practice.api.get(f"/series/{m['id']}").json
    active = [s for s in after["sessions"] if s["status"] != "cancelled"]
    assert [s["local_date"] for s in active] == ["2027-10-14", "2028-01-06", "2028-02-03"]
    assert [s["number"] for s in active] == [1, 2, 3]
    assert active[-1]["is_make_up"] is True and active[-1]["phase"] == "maintenance"


def test_conflicts_hold_at_every_cadence(practice):
    course = book(practice, first_session_date="2027-10-14", session_count=8)
    r = maintenance(practice, course["id"], first_session_date="2027-10-21", cadence_weeks=2)
    assert r.status_code == 409
    assert {c["reason"] for c in r.json["conflicts"]} == {"therapist_busy"}


def test_renegotiating_maintenance_stays_within_1_to_12(practice):
    m = maintenance(practice, None).json
    assert practice.api.patch(f"/series/{m['id']}", {"session_count": 13}).status_code == 422
    r = practice.api.patch(f"/series/{m['id']}", {"session_count": 5})
    assert r.status_code == 200, r.json
    dates = [s["local_date"] for s in r.json["sessions"] if s["status"] != "cancelled"]
    assert dates[-2:] == ["2028-02-03", "2028-03-02"]


def test_bad_maintenance_requests_name_the_field_and_write_nothing(practice, db, api):
    course = book(practice)
    other_client = new_client(api, "Max", "Other", "(206) 555-0177")
    other_course = book(practice, client_id=other_client["id"], start_time="10:00")
    before = db.scalar(select(func.count()).select_from(Series))
    cases = [
        (maintenance(practice, course["id"], session_count=13), "session_count"),
        (maintenance(practice, course["id"], session_count=0), "session_count"),
        (maintenance(practice, course["id"], cadence_weeks=3), "cadence_weeks"),
        (maintenance(practice, course["id"], kind="monthly"), "kind"),
        (maintenance(practice, other_course["id"]), "continues_series_id"),
        (maintenance(practice, 999_999), "continues_series_id"),
        (
            maintenance(practice, course["id"], kind="acute", session_count=12),
            "continues_series_id",
        ),
    ]
    for response, field in cases:
        assert response.status_code == 422, (field, response.json)
        assert field in response.json["fields"], (field, response.json)
    assert db.scalar(select(func.count()).select_from(Series)) == before


def test_desk_may_not_continue_a_course_it_cannot_see(practice, db, client, api):
    from tests.web.conftest import Api, make_user_token

    both = api.post(
        "/therapists",
        {"name": "Dr. Both", "email": "both@practice.test", "location_ids": ["seattle", "tucson"]},
    ).json
    tucson_client = api.post(
        "/clients",
        {
            "first_name": "Ty",
            "last_name": "Sun",
            "phone": "(520) 555-0177",
            "home_location_id": "tucson",
            "sms_consent": True,
        },
    ).json
    course = book(practice, client_id=tucson_client["id"], therapist_id=both["id"])
    token = make_user_token(db, "far.desk@test.invalid", "front_desk", office_ids=["tucson"])
    far = Api(client, token)
    r = far.post(
        "/series",
        series_body(
            practice,
            client_id=tucson_client["id"],
            therapist_id=both["id"],
            kind="maintenance",
            cadence_weeks=4,
            session_count=3,
            first_session_date="2027-10-14",
            continues_series_id=course["id"],
            location_id="tucson",
        ),
    )
    # The client and the therapist are this Tucson desk's; the Seattle course is not.
    assert r.status_code == 422
    assert r.json["fields"] == {"continues_series_id": "series not found"}
