from __future__ import annotations


def test_flow(api, db):
    r = api.get("/locations")
    assert r.status_code == 200, r.json
    assert len(r.json) == 9
    t = api.post("/therapists", {"name": "Dr A", "email": "a@x.test", "location_ids": ["seattle"]})
    assert t.status_code == 201, t.json
    c = api.post(
        "/clients",
        {
            "first_name": "Jo",
            "last_name": "Q",
            "phone": "(206) 555-0142",
            "home_location_id": "seattle",
            "sms_consent": True,
            "goal_prompt_consent": False,
        },
    )
    assert c.status_code == 201, c.json
    s = api.post(
        "/series",
        {
            "client_id": c.json["id"],
            "therapist_id": t.json["id"],
            "location_id": "seattle",
            "first_session_date": "2027-02-24",
            "start_time": "17:00",
            "session_count": 16,
            "duration_minutes": 50,
            "problem_area": "role_transition",
        },
    )
    assert s.status_code == 201, s.json
    assert s.json["sessions"][0]["starts_at"] == "2027-02-24T17:00:00-08:00"
    assert api.get("/openapi.json").status_code == 200
