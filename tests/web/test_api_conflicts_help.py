"""Conflicts that say what blocks them, free weekly slots to book instead, and move previews."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from scheduler.db.models import AuditEntry, Series, TherapySession
from tests.web.conftest import Api, make_user_token


def new_therapist(api: Api, name: str, *offices: str) -> dict[str, Any]:
    email = name.lower().replace(" ", "").replace(".", "") + "@practice.test"
    r = api.post("/therapists", {"name": name, "email": email, "location_ids": list(offices)})
    assert r.status_code == 201, r.json
    return r.json


def new_client(api: Api, first: str, last: str, phone: str, home: str = "seattle") -> dict:
    body = {
        "first_name": first,
        "last_name": last,
        "phone": phone,
        "home_location_id": home,
        "sms_consent": True,
    }
    r = api.post("/clients", body)
    assert r.status_code == 201, r.json
    return r.json


def body(client: dict, therapist: dict, **over: Any) -> dict[str, Any]:
    out = {
        "client_id": client["id"],
        "therapist_id": therapist["id"],
        "location_id": "seattle",
        "first_session_date": "2027-02-24",
        "start_time": "17:00",
        "session_count": 16,
        "problem_area": "role_transition",
    }
    out.update(over)
    return out


@pytest.fixture
def setting(api: Api) -> dict[str, Any]:
    ada = new_therapist(api, "Dr. Ada Byrne", "seattle", "folsom")
    ben = new_therapist(api, "Dr. Ben Cole", "seattle")
    jo = new_client(api, "Jo", "Quinn", "(206) 555-0142")
    max_ = new_client(api, "Max", "Ross", "(206) 555-0143")
    booked = api.post("/series", body(jo, ada, room="Room 1"))
    assert booked.status_code == 201, booked.json
    return {"ada": ada, "ben": ben, "jo": jo, "max": max_, "series": booked.json}


def test_a_clash_names_the_other_client_therapist_and_time_and_is_summarised_once(api, setting):
    r = api.post("/series", body(setting["max"], setting["ada"], start_time="17:30"))
    assert r.status_code == 409
    first = r.json["conflicts"][0]
    assert first["reason"] == "therapist_busy"  # the old fields stay
    assert first["conflicting_session_id"] == setting["series"]["sessions"][0]["id"]
    blocker = first["blocked_by"]
    assert blocker["type"] == "session"
    assert blocker["client_initials"] == "J.Q."
    assert blocker["therapist_name"] == "Dr. Ada Byrne"
    assert blocker["starts_at"] == "2027-02-24T17:00:00-08:00"
    assert "J.Q." in first["message"] and "5:00 PM" in first["message"]
    # Sixteen weekly clashes with one series are one obstacle in the summary.
    assert len(r.json["conflicts"]) == 16
    assert len(r.json["summary"]) == 1
    assert r.json["summary"][0]["count"] == 16
    assert r.json["summary"][0]["message"].endswith("sessions 1\u201316")


def test_closed_hours_are_said_once_for_the_whole_series(api, setting):
    r = api.post("/series", body(setting["max"], setting["ben"], start_time="21:00"))
    assert r.status_code == 409
    hours = [c for c in r.json["conflicts"] if c["reason"] == "outside_hours"]
    assert len(hours) == 16  # still one per session, as before
    said = [s for s in r.json["summary"] if s["reason"] == "outside_hours"]
    assert len(said) == 1
    assert said[0]["message"].startswith("Seattle is not open then")
    assert "8:00 AM\u20138:00 PM" in said[0]["message"]
    assert said[0]["numbers"] == list(range(1, 17))


def test_a_holiday_is_named(api, setting):
    # Mondays from Feb 8 2027 meet Presidents' Day (Feb 15) in Washington.
    r = api.post(
        "/series",
        body(
            setting["max"],
            setting["ben"],
            first_session_date="2027-02-08",
            start_time="10:00",
            session_count=8,
            closure_policy="reject",
        ),
    )
    assert r.status_code == 409
    closed = r.json["conflicts"][0]
    assert closed["reason"] == "closed"
    assert closed["blocked_by"] == {
        "type": "holiday",
        "date": "2027-02-15",
        "name": "Presidents' Day",
    }
    assert "Presidents' Day" in closed["message"]


def test_room_clash_names_the_room_and_who_has_it(api, setting):
    r = api.post("/series", body(setting["max"], setting["ben"], room="Room 1"))
    assert r.status_code == 409
    c = r.json["conflicts"][0]
    assert c["reason"] == "room_busy"
    assert c["blocked_by"]["room"] == "Room 1"
    assert c["message"].startswith("Room 1 is taken then by Dr. Ada Byrne with J.Q.")


def test_another_office_client_is_not_shown_to_a_desk_that_does_not_serve_it(
    api, setting, client, db
):
    sam = new_client(api, "Sam", "Lee", "(916) 555-0144", home="folsom")
    at_folsom = api.post(
        "/series", body(sam, setting["ada"], location_id="folsom", first_session_date="2027-03-01")
    )
    assert at_folsom.status_code == 201, at_folsom.json
    desk = Api(
        client, make_user_token(db, "desk@test.invalid", "front_desk", office_ids=["seattle"])
    )
    r = desk.post(
        "/series",
        body(setting["max"], setting["ada"], first_session_date="2027-03-01", start_time="17:00"),
    )
    assert r.status_code == 409
    elsewhere = [c for c in r.json["conflicts"] if c["blocked_by"]["location_id"] == "folsom"]
    assert elsewhere
    for c in elsewhere:
        assert "client_initials" not in c["blocked_by"]
        assert "conflicting_session_id" not in c
        assert "S.L." not in c["message"] and "at Folsom" in c["message"]


BOOKING_FIELDS = ("therapist_id", "location_id", "first_session_date", "start_time", "room")


def series_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Series))


def test_suggestions_are_free_in_all_weeks_and_each_books_as_it_stands(api, setting, db):
    asked = body(setting["max"], setting["ada"], room="Room 1")
    assert api.post("/series", asked).status_code == 409
    r = api.post("/series/suggestions", asked)
    assert r.status_code == 200, r.json
    found = r.json["suggestions"]
    assert 1 <= len(found) <= 5
    # The therapist asked for first, on the weekday asked for, at the nearest free times.
    assert found[0]["therapist_id"] == setting["ada"]["id"]
    assert found[0]["first_session_date"] == "2027-02-24"
    assert found[0]["start_time"] in ("16:00", "18:00")
    for s in found:
        assert set(s) >= {"therapist_id", "location_id", "first_session_date", "start_time", "room"}
        before = series_count(db)
        chosen = {k: s[k] for k in BOOKING_FIELDS}
        booked = api.post("/series", {**asked, **chosen})
        assert booked.status_code == 201, (s, booked.json)
        assert series_count(db) == before + 1
        # Free the calendar again so the next suggestion is tried against the same state.
        done = api.patch(
            f"/series/{booked.json['id']}", {"status": "cancelled", "cancelled_by": "practice"}
        )
        assert done.status_code == 200, done.json


def book_solid(api: Api, therapist: dict, day: str, times: tuple[str, ...]) -> None:
    for n, at in enumerate(times):
        someone = new_client(api, "Pat", f"P{n}", f"(206) 555-01{60 + n}")
        r = api.post("/series", body(someone, therapist, first_session_date=day, start_time=at))
        assert r.status_code == 201, (at, r.json)


WEDNESDAY = ("08:00", "09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00",
             "18:00", "19:00")  # fmt: skip


def test_suggestions_keep_the_therapist_on_nearby_days_before_others(api, setting):
    book_solid(api, setting["ada"], "2027-02-24", WEDNESDAY)
    found = api.post("/series/suggestions", body(setting["max"], setting["ada"])).json
    found = found["suggestions"]
    assert len(found) == 5
    assert all(s["therapist_id"] == setting["ada"]["id"] for s in found)
    assert [s["first_session_date"] for s in found[:2]] == ["2027-02-23", "2027-02-25"]
    assert {s["start_time"] for s in found[:2]} == {"17:00"}
    # A later start of a weekly slot already offered is no new choice.
    assert len({(s["first_session_date"][:10], s["start_time"]) for s in found}) == 5
    assert "2027-03-02" not in [s["first_session_date"] for s in found]


def test_suggestions_fall_back_to_other_therapists_at_the_office(api, setting, monkeypatch):
    from scheduler.services import suggestions

    # Only Wednesdays starting that week are acceptable to this client.
    monkeypatch.setattr(suggestions, "DAY_OFFSETS", (0,))
    monkeypatch.setattr(suggestions, "WEEK_SHIFTS", (0,))
    book_solid(api, setting["ada"], "2027-02-24", WEDNESDAY)
    found = api.post("/series/suggestions", body(setting["max"], setting["ada"])).json
    found = found["suggestions"]
    assert [s["therapist_id"] for s in found] == [setting["ben"]["id"]] * 5
    assert found[0]["start_time"] == "17:00"  # the time asked for, with Ben
    assert [s["start_time"] for s in found[1:3]] in (["16:30", "17:30"], ["17:30", "16:30"])


def test_suggestions_answer_bad_input_like_booking(api, setting):
    r = api.post("/series/suggestions", body(setting["max"], setting["ada"], session_count=3))
    assert r.status_code == 422 and "session_count" in r.json["fields"]
    assert r.json["messages"]["session_count"] == "Session count must be between 8 and 20"


def test_suggestions_use_few_queries(api, setting, engine):
    from sqlalchemy import event

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        r = api.post("/series/suggestions", body(setting["max"], setting["ada"]))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 200
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # Token, user, client, therapists, the busy window (and the user's offices): not per slot.
    assert len(reads) <= 8, reads


def first_session(setting: dict[str, Any]) -> dict[str, Any]:
    return setting["series"]["sessions"][0]


def test_preview_of_a_move_lists_every_conflict_before_saving(api, setting, db):
    other = api.post("/series", body(setting["max"], setting["ben"], start_time="15:00"))
    assert other.status_code == 201
    session = first_session(setting)
    r = api.post(
        f"/sessions/{session['id']}/preview",
        {"starts_at_local": "2027-02-24T15:30", "therapist_id": setting["ben"]["id"]},
    )
    assert r.status_code == 200, r.json
    assert r.json["ok"] is False
    assert r.json["starts_at"] == "2027-02-24T15:30:00-08:00"
    assert [c["reason"] for c in r.json["conflicts"]] == ["therapist_busy"]
    assert r.json["conflicts"][0]["blocked_by"]["client_initials"] == "M.R."
    # Nothing was saved.
    db.expire_all()
    assert db.get(TherapySession, session["id"]).therapist_id == setting["ada"]["id"]
    free = api.post(f"/sessions/{session['id']}/preview", {"starts_at_local": "2027-02-24T12:00"})
    assert free.json["ok"] is True and free.json["conflicts"] == []


def test_preview_names_a_holiday_and_refuses_impossible_times(api, setting):
    session = first_session(setting)
    holiday = api.post(
        f"/sessions/{session['id']}/preview", {"starts_at_local": "2027-05-31T10:00"}
    )
    assert holiday.status_code == 200
    assert holiday.json["conflicts"][0]["blocked_by"]["name"] == "Memorial Day"
    gap = api.post(f"/sessions/{session['id']}/preview", {"starts_at_local": "2027-03-14T02:30"})
    assert gap.status_code == 422 and "starts_at_local" in gap.json["fields"]


def test_patch_changes_the_room_and_the_therapist_of_one_session(api, setting, db):
    session = first_session(setting)
    r = api.patch(f"/sessions/{session['id']}", {"room": "Room 2"})
    assert r.status_code == 200, r.json
    assert r.json["room"] == "Room 2" and r.json["starts_at"] == session["starts_at"]
    r = api.patch(f"/sessions/{session['id']}", {"therapist_id": setting["ben"]["id"]})
    assert r.status_code == 200, r.json
    assert r.json["therapist_id"] == setting["ben"]["id"]
    second = setting["series"]["sessions"][1]
    assert api.get(f"/sessions/{second['id']}").json["therapist_id"] == setting["ada"]["id"]
    actions = db.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == str(session["id"]))
    ).all()
    assert actions.count("session.reassigned") == 2
    cleared = api.patch(f"/sessions/{session['id']}", {"room": None})
    assert cleared.status_code == 200 and cleared.json["room"] is None


def test_patch_refuses_a_room_that_is_taken_and_a_therapist_from_elsewhere(api, setting):
    other = api.post("/series", body(setting["max"], setting["ben"], room="Room 2"))
    assert other.status_code == 201
    session = first_session(setting)
    r = api.patch(f"/sessions/{session['id']}", {"room": "Room 2"})
    assert r.status_code == 409
    assert r.json["conflicts"][0]["blocked_by"]["client_initials"] == "M.R."
    stranger = new_therapist(api, "Dr. Cy Dunn", "miami")
    r = api.patch(f"/sessions/{session['id']}", {"therapist_id": stranger["id"]})
    assert r.status_code == 422 and "therapist_id" in r.json["fields"]
    r = api.patch(f"/sessions/{session['id']}", {"room": "Room 2", "status": "attended"})
    assert r.status_code == 422 and "body" in r.json["fields"]
