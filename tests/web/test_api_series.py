"""Booking and changing series through the JSON API, as the front desk's other tools will."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from scheduler.db.models import AuditEntry, Client, Series, Therapist, TherapySession


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def people(api) -> dict[str, Any]:
    t = api.post(
        "/therapists",
        {
            "name": "Dr. Ada Byrne",
            "email": "ada@practice.test",
            "location_ids": ["seattle", "folsom", "tucson"],
        },
    )
    assert t.status_code == 201, t.json
    c = api.post(
        "/clients",
        {
            "first_name": "Jo",
            "last_name": "Quinn",
            "phone": "(206) 555-0142",
            "home_location_id": "seattle",
            "sms_consent": True,
            "goal_prompt_consent": False,
        },
    )
    assert c.status_code == 201, c.json
    return {"therapist": t.json, "client": c.json}


def series_body(people, **over) -> dict[str, Any]:
    body = {
        "client_id": people["client"]["id"],
        "therapist_id": people["therapist"]["id"],
        "location_id": "seattle",
        "first_session_date": "2027-02-24",
        "start_time": "17:00",
        "session_count": 16,
        "duration_minutes": 50,
        "problem_area": "role_transition",
    }
    body.update(over)
    return body


def test_client_phone_is_e164_and_zone_defaults_to_home_office(people):
    assert people["client"]["phone"] == "+12065550142"
    assert people["client"]["timezone"] == "America/Los_Angeles"


def test_locations_carry_zone_number_and_warnings(api):
    offices = {o["id"]: o for o in api.get("/locations").json}
    assert offices["tucson"]["timezone"] == "America/Phoenix"
    assert offices["tucson"]["sms_number"].startswith("+1520555")
    assert any("21223" in w for w in offices["dallas"]["warnings"])
    assert offices["seattle"]["warnings"] == []


def test_seattle_series_crosses_spring_forward_at_the_same_wall_time(api, people):
    r = api.post("/series", series_body(people))
    assert r.status_code == 201, r.json
    sessions = r.json["sessions"]
    assert len(sessions) == 16
    assert sessions[0]["starts_at"] == "2027-02-24T17:00:00-08:00"
    assert sessions[3]["starts_at"] == "2027-03-17T17:00:00-07:00"
    assert all(s["starts_at"][11:19] == "17:00:00" for s in sessions)
    assert [s["number"] for s in sessions] == list(range(1, 17))
    assert [s["phase"] for s in sessions[:4]] == ["initial"] * 3 + ["middle"]
    assert [s["phase"] for s in sessions[-3:]] == ["termination"] * 3


def test_seattle_series_crosses_fall_back(api, people):
    r = api.post("/series", series_body(people, first_session_date="2027-10-20", session_count=8))
    assert r.status_code == 201, r.json
    offsets = [s["starts_at"][-6:] for s in r.json["sessions"]]
    assert offsets[:3] == ["-07:00"] * 3  # Oct 20, 27, Nov 3
    assert set(offsets[3:]) == {"-08:00"}  # from Nov 10 (DST ended Nov 7)


def test_tucson_stays_at_minus_seven_all_year(api, people):
    r = api.post(
        "/series",
        series_body(
            people,
            location_id="tucson",
            first_session_date="2027-02-23",
            start_time="10:00",
            session_count=20,
        ),
    )
    assert r.status_code == 201, r.json
    assert {s["starts_at"][-6:] for s in r.json["sessions"]} == {"-07:00"}


def test_client_in_another_zone_than_the_office(api, people):
    c = api.post(
        "/clients",
        {
            "first_name": "Al",
            "last_name": "Diaz",
            "phone": "+15205550199",
            "home_location_id": "tucson",
            "timezone": "America/Los_Angeles",
            "sms_consent": True,
        },
    )
    assert c.status_code == 201 and c.json["timezone"] == "America/Los_Angeles"
    r = api.post(
        "/series",
        series_body(
            people,
            client_id=c.json["id"],
            location_id="tucson",
            first_session_date="2027-06-01",
            start_time="10:00",
        ),
    )
    # The session is in the office's zone whatever the client's.
    assert r.json["sessions"][0]["starts_at"] == "2027-06-01T10:00:00-07:00"


def test_spring_forward_gap_is_422_naming_start_time(api, people, db):
    body = series_body(
        people, first_session_date="2027-03-14", start_time="02:30", location_id="folsom"
    )
    r = api.post("/series", body)
    assert r.status_code == 422
    assert "does not exist" in r.json["fields"]["start_time"]
    assert count(db, Series) == 0


def test_therapist_double_booked_across_two_offices_is_409(api, people, db):
    assert api.post("/series", series_body(people)).status_code == 201
    r = api.post(
        "/series",
        series_body(
            people, location_id="folsom", start_time="17:30", first_session_date="2027-03-10"
        ),
    )
    assert r.status_code == 409
    assert r.json["error"] == "conflict"
    first = r.json["conflicts"][0]
    assert first["number"] == 1 and first["reason"] == "therapist_busy"
    assert first["starts_at"] == "2027-03-10T17:30:00-08:00"
    assert count(db, Series) == 1


def test_room_conflict_is_409(api, people):
    room = "Room 1"
    assert api.post("/series", series_body(people, room=room)).status_code == 201
    other = api.post(
        "/therapists", {"name": "Dr. B", "email": "b@practice.test", "location_ids": ["seattle"]}
    ).json
    r = api.post(
        "/series",
        series_body(people, therapist_id=other["id"], room=room, first_session_date="2027-03-03"),
    )
    assert r.status_code == 409
    assert {c["reason"] for c in r.json["conflicts"]} == {"room_busy"}


def test_holiday_is_skipped_with_a_make_up_week(api, people):
    # Thursday series over Thanksgiving 2027 (Nov 25).
    r = api.post("/series", series_body(people, first_session_date="2027-11-04", session_count=8))
    assert r.status_code == 201, r.json
    dates = [s["starts_at"][:10] for s in r.json["sessions"]]
    assert "2027-11-25" not in dates and len(dates) == 8
    assert dates[-1] == "2028-01-06" or len(r.json["skipped"]) >= 1
    assert any(
        s["date"] == "2027-11-25" and "Thanksgiving" in s["reason"] for s in r.json["skipped"]
    )


def test_closure_policy_reject_is_409(api, people, db):
    r = api.post(
        "/series",
        series_body(
            people, first_session_date="2027-11-04", session_count=8, closure_policy="reject"
        ),
    )
    assert r.status_code == 409
    assert any(c["date"] == "2027-11-25" for c in r.json["conflicts"])
    assert count(db, Series) == 0


def test_practice_cancellation_appends_a_make_up_week(api, people, db):
    series = api.post("/series", series_body(people, session_count=12)).json
    third = series["sessions"][2]
    r = api.patch(f"/sessions/{third['id']}", {"status": "cancelled", "cancelled_by": "practice"})
    assert r.status_code == 200, r.json
    after = api.get(f"/series/{series['id']}").json
    active = [s for s in after["sessions"] if s["status"] != "cancelled"]
    assert len(active) == 12
    assert [s["number"] for s in active] == list(range(1, 13))
    assert active[-1]["is_make_up"] is True
    assert active[-1]["starts_at"][:10] > series["sessions"][-1]["starts_at"][:10]


def test_client_cancellation_counts_unless_make_up(api, people):
    series = api.post("/series", series_body(people, session_count=12)).json
    ids = [s["id"] for s in series["sessions"]]
    r = api.patch(f"/sessions/{ids[4]}", {"status": "cancelled", "cancelled_by": "client"})
    assert r.status_code == 200 and r.json["counts"] is True
    after = api.get(f"/series/{series['id']}").json
    assert len(after["sessions"]) == 12  # no make-up: the missed week counts
    r = api.patch(
        f"/sessions/{ids[5]}", {"status": "cancelled", "cancelled_by": "client", "make_up": True}
    )
    assert r.status_code == 200 and r.json["counts"] is False
    after = api.get(f"/series/{series['id']}").json
    assert len([s for s in after["sessions"] if s["counts"]]) == 12
    assert len(after["sessions"]) == 13


def test_reschedule_moves_one_session_and_bumps_its_revision(api, people, db):
    series = api.post("/series", series_body(people)).json
    s = series["sessions"][1]
    r = api.patch(f"/sessions/{s['id']}", {"starts_at_local": "2027-03-04T18:00"})
    assert r.status_code == 200, r.json
    assert r.json["starts_at"] == "2027-03-04T18:00:00-08:00"
    assert r.json["revision"] > s["revision"]
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "session.rescheduled")
        )
        == 1
    )


def test_reschedule_into_a_conflict_is_409_and_changes_nothing(api, people):
    series = api.post("/series", series_body(people)).json
    a, b = series["sessions"][1], series["sessions"][2]
    r = api.patch(f"/sessions/{a['id']}", {"starts_at_local": b["starts_at"][:16]})
    assert r.status_code == 409
    assert api.get(f"/sessions/{a['id']}").json["starts_at"] == a["starts_at"]


def test_renegotiating_n_adds_and_removes_weeks(api, people):
    series = api.post("/series", series_body(people, session_count=12)).json
    r = api.patch(f"/series/{series['id']}", {"session_count": 16})
    assert r.status_code == 200, r.json
    active = [s for s in r.json["sessions"] if s["status"] != "cancelled"]
    assert len(active) == 16 and r.json["termination_starts_at"] == 14
    assert [s["phase"] for s in active[11:14]] == ["middle", "middle", "termination"]
    r = api.patch(f"/series/{series['id']}", {"session_count": 10})
    assert r.status_code == 200
    assert len([s for s in r.json["sessions"] if s["status"] != "cancelled"]) == 10
    assert api.patch(f"/series/{series['id']}", {"session_count": 100}).status_code == 422


def test_attendance_cannot_be_marked_in_the_future(api, people):
    series = api.post("/series", series_body(people)).json
    r = api.patch(f"/sessions/{series['sessions'][0]['id']}", {"status": "attended"})
    assert r.status_code == 422 and "status" in r.json["fields"]


def test_sessions_listed_by_office_and_local_dates(api, people):
    api.post("/series", series_body(people))
    r = api.get("/sessions?location_id=seattle&from=2027-03-14&to=2027-03-20")
    assert r.status_code == 200
    assert [s["starts_at"] for s in r.json] == ["2027-03-17T17:00:00-07:00"]
    assert api.get("/sessions?location_id=nowhere").status_code == 422
    assert api.get("/sessions?location_id=seattle&from=March").status_code == 422


def test_a_week_read_where_no_fingerprint_holds_is_rendered_each_time(api, app, people):
    """The render cache keeps a week only against a fingerprint of its rows: SQLite has none,
    and on PostgreSQL a transaction that wrote has none (this test's own holds the data it
    booked), so each read renders, and a change shows at once
    (tests/integration/test_week_cache_pg.py covers the cache with real commits)."""
    series = api.post("/series", series_body(people)).json
    week = "/sessions?location_id=seattle&from=2027-03-14&to=2027-03-20"
    assert [s["room"] for s in api.get(week).json] == [series["room"]]
    session_id = api.get(week).json[0]["id"]
    assert api.patch(f"/sessions/{session_id}", {"room": "Room 2"}).status_code == 200
    assert [s["room"] for s in api.get(week).json] == ["Room 2"]
    assert len(app.extensions["ipt_renders"]) == 0


# --- bad input: a 4xx naming the field, and nothing written --------------------------------


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"client_id": 999999}, "client_id"),
        ({"therapist_id": 999999}, "therapist_id"),
        ({"location_id": "atlantis"}, "location_id"),
        ({"session_count": 0}, "session_count"),
        ({"session_count": 100}, "session_count"),
        ({"session_count": "16"}, "session_count"),
        ({"start_time": "25:00"}, "start_time"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"problem_area": "anxiety"}, "problem_area"),
        ({"first_session_date": "2020-01-01"}, "first_session_date"),
        ({"first_session_date": "next week"}, "first_session_date"),
        ({"room": "Room 99"}, "room"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_series_input_is_422_and_writes_nothing(api, people, db, over, field):
    r = api.post("/series", series_body(people, **over))
    assert r.status_code == 422, r.json
    assert r.json["error"] == "validation"
    assert field in r.json["fields"]
    assert count(db, Series) == 0 and count(db, TherapySession) == 0


def test_missing_fields_are_each_named(api, db):
    r = api.post("/series", {"client_id": 1})
    assert r.status_code == 422
    assert {"therapist_id", "location_id", "start_time", "session_count"} <= set(r.json["fields"])


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "+1 555 123 4567"}, "phone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"home_location_id": "nowhere"}, "home_location_id"),
        ({"sms_consent": "yes"}, "sms_consent"),
        ({"first_name": ""}, "first_name"),
    ],
)
def test_bad_client_input_is_422_and_writes_nothing(api, db, over, field):
    body = {
        "first_name": "A",
        "last_name": "B",
        "phone": "+12065550100",
        "home_location_id": "seattle",
        "sms_consent": True,
    }
    body.update(over)
    r = api.post("/clients", body)
    assert r.status_code == 422, r.json
    assert field in r.json["fields"]
    assert count(db, Client) == 0


def test_unknown_location_for_therapist_is_422(api, db):
    r = api.post("/therapists", {"name": "X", "email": "x@y.test", "location_ids": ["nowhere"]})
    assert r.status_code == 422 and "location_ids" in r.json["fields"]
    assert count(db, Therapist) == 0


def test_oversized_body_is_413(api, db):
    r = api.post("/clients", {"first_name": "A" * 200_000})
    assert r.status_code == 413 and r.json["error"] == "too_large"
    assert count(db, Client) == 0


def test_not_json_is_422(api):
    r = api.client.post(
        "/api/v1/clients",
        data="first_name=A",
        headers={
            "Authorization": f"Bearer {api.token}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert r.status_code == 422 and "body" in r.json["fields"]


def test_malformed_json_is_422(api):
    r = api.client.post(
        "/api/v1/clients",
        data="{not json",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and "body" in r.json["fields"]


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_missing_or_wrong_token_is_401(client, header):
    headers = {"Authorization": header} if header else {}
    r = client.get("/api/v1/locations", headers=headers)
    assert r.status_code == 401 and r.json["error"] == "unauthorized"


def test_names_with_sql_or_html_are_stored_verbatim(api, db, people):
    evil = "Robert'); DROP TABLE clients;--"
    html = "<script>alert(1)</script>"
    r = api.post(
        "/clients",
        {
            "first_name": html,
            "last_name": evil,
            "phone": "+12065550177",
            "home_location_id": "seattle",
            "sms_consent": False,
        },
    )
    assert r.status_code == 201
    back = api.get(f"/clients/{r.json['id']}")
    assert back.json["first_name"] == html and back.json["last_name"] == evil
    assert back.headers["Content-Type"].startswith("application/json")
    assert count(db, Client) == 2


def test_unknown_ids_in_urls_are_404(api):
    for path in ("/clients/424242", "/therapists/424242", "/series/424242", "/sessions/424242"):
        r = api.get(path)
        assert r.status_code == 404 and r.json["error"] == "not_found"


def test_therapist_token_cannot_book(api, db, client, people):
    from tests.web.conftest import Api, make_user_token

    token = make_user_token(db, "ada@practice.test", "therapist")
    therapist_api = Api(client, token)
    assert therapist_api.post("/series", series_body(people)).status_code == 403
    other = api.post("/therapists", {"name": "Z", "email": "z@p.test", "location_ids": ["miami"]})
    # Another therapist is outside a therapist's reach: 404, as if there were none.
    assert therapist_api.get(f"/therapists/{other.json['id']}").status_code == 404


def test_front_desk_limited_to_their_offices(api, db, client, people):
    from tests.web.conftest import Api, make_user_token

    token = make_user_token(db, "desk@practice.test", "front_desk", office_ids=["miami"])
    desk = Api(client, token)
    assert desk.post("/series", series_body(people)).status_code == 403
    assert desk.get("/sessions?location_id=seattle").status_code == 403
    assert desk.get("/sessions?location_id=miami").status_code == 200
