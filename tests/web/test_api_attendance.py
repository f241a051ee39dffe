"""Attendance from the day sheet (attended, no-show, late cancel, same-day undo) and text states."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from scheduler.db.models import AuditEntry, OutboundMessage
from tests import factories
from tests.integration.dispatch_support import Clock
from tests.web.conftest import Api, make_user_token

# Wednesday Feb 24 2027, 17:00 in Seattle is 01:00 UTC on the 25th.
BOOKED_AT = datetime(2027, 2, 15, 18, 0, tzinfo=UTC)
DURING_FIRST = datetime(2027, 2, 25, 1, 10, tzinfo=UTC)  # 17:10 Seattle, Feb 24
NEXT_MORNING = datetime(2027, 2, 25, 17, 0, tzinfo=UTC)  # 09:00 Seattle, Feb 25


@pytest.fixture
def clock(container) -> Clock:
    clock = Clock(BOOKED_AT)
    container.clock = clock
    return clock


@pytest.fixture
def booked(api: Api, clock: Clock) -> dict[str, Any]:
    t = api.post(
        "/therapists", {"name": "Dr. Ada Byrne", "email": "ada@p.test", "location_ids": ["seattle"]}
    ).json
    c = api.post(
        "/clients",
        {
            "first_name": "Jo",
            "last_name": "Quinn",
            "phone": "(206) 555-0142",
            "home_location_id": "seattle",
            "sms_consent": True,
        },
    ).json
    r = api.post(
        "/series",
        {
            "client_id": c["id"],
            "therapist_id": t["id"],
            "location_id": "seattle",
            "first_session_date": "2027-02-24",
            "start_time": "17:00",
            "session_count": 12,
            "problem_area": "grief",
        },
    )
    assert r.status_code == 201, r.json
    return {"therapist": t, "client": c, "series": r.json}


def first(booked: dict[str, Any]) -> int:
    return booked["series"]["sessions"][0]["id"]


def test_attendance_needs_the_session_to_have_started(api, booked):
    r = api.patch(f"/sessions/{first(booked)}", {"status": "attended"})
    assert r.status_code == 422 and "status" in r.json["fields"]


def test_mark_then_undo_the_same_day(api, booked, clock, db):
    clock.now = DURING_FIRST
    session_id = first(booked)
    r = api.patch(f"/sessions/{session_id}", {"status": "no_show"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "no_show" and r.json["attendance"] == "no_show"
    corrected = api.patch(f"/sessions/{session_id}", {"status": "attended"})
    assert corrected.json["attendance"] == "attended"
    undone = api.patch(f"/sessions/{session_id}", {"status": "scheduled"})
    assert undone.status_code == 200, undone.json
    assert undone.json["status"] == "scheduled" and undone.json["attendance"] is None
    actions = db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_id == str(session_id))
        .order_by(AuditEntry.id)
    ).all()
    assert actions[-3:] == ["session.no_show", "session.attended", "session.attendance_undone"]


def test_undo_is_refused_on_a_later_day(api, booked, clock):
    clock.now = DURING_FIRST
    session_id = first(booked)
    assert api.patch(f"/sessions/{session_id}", {"status": "attended"}).status_code == 200
    clock.now = NEXT_MORNING
    r = api.patch(f"/sessions/{session_id}", {"status": "scheduled"})
    assert r.status_code == 422
    assert "Wed, Feb 24, 2027" in r.json["fields"]["status"]
    # A correction is still possible: it is a new mark.
    assert api.patch(f"/sessions/{session_id}", {"status": "no_show"}).status_code == 200


def test_late_cancel_after_the_start_counts_and_can_be_undone(api, booked, clock):
    clock.now = DURING_FIRST
    session_id = first(booked)
    r = api.patch(f"/sessions/{session_id}", {"status": "late_cancelled", "reason": "sick"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "cancelled" and r.json["cancelled_by"] == "client"
    assert r.json["late_cancel"] is True and r.json["counts"] is True
    assert r.json["attendance"] == "late_cancelled"
    series = api.get(f"/series/{booked['series']['id']}").json
    assert len([s for s in series["sessions"] if s["counts"]]) == 12  # no make-up week
    back = api.patch(f"/sessions/{session_id}", {"status": "scheduled"})
    assert back.json["status"] == "scheduled" and back.json["late_cancel"] is False


def test_a_client_cancelling_inside_the_late_window_is_a_late_cancel(api, booked, clock):
    second = booked["series"]["sessions"][1]  # Mar 3, 17:00 Seattle = Mar 4 01:00 UTC
    clock.now = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)  # 15 hours before: inside 24 h
    r = api.patch(f"/sessions/{second['id']}", {"status": "cancelled", "cancelled_by": "client"})
    assert r.status_code == 200, r.json
    assert r.json["late_cancel"] is True and r.json["counts"] is True
    early = booked["series"]["sessions"][2]
    r = api.patch(f"/sessions/{early['id']}", {"status": "cancelled", "cancelled_by": "client"})
    assert r.json["late_cancel"] is False and r.json["attendance"] is None


def test_a_session_cancelled_in_advance_cannot_be_marked_or_undone(api, booked, clock):
    session_id = first(booked)
    r = api.patch(f"/sessions/{session_id}", {"status": "cancelled", "cancelled_by": "practice"})
    assert r.status_code == 200
    clock.now = DURING_FIRST
    assert api.patch(f"/sessions/{session_id}", {"status": "attended"}).status_code == 422
    assert api.patch(f"/sessions/{session_id}", {"status": "scheduled"}).status_code == 422


def test_the_treating_therapist_records_attendance_but_does_not_move(
    api, booked, clock, client, db
):
    token = make_user_token(
        db, "ada@user.test", "therapist", therapist_id=booked["therapist"]["id"]
    )
    therapist = Api(client, token)
    clock.now = DURING_FIRST
    session_id = first(booked)
    assert therapist.patch(f"/sessions/{session_id}", {"status": "attended"}).status_code == 200
    assert therapist.patch(f"/sessions/{session_id}", {"status": "scheduled"}).status_code == 200
    assert therapist.patch(f"/sessions/{session_id}", {"room": "Room 1"}).status_code == 403


def test_text_states_of_a_day(api, booked, db, clock):
    sessions = booked["series"]["sessions"]
    first_id, second_id = sessions[0]["id"], sessions[1]["id"]
    # A delivered reminder for the first, a failed one for the second.
    db.expire_all()
    for session_id, status in ((first_id, "delivered"), (second_id, "failed")):
        message = db.scalars(
            select(OutboundMessage).where(
                OutboundMessage.session_id == session_id, OutboundMessage.kind == "reminder_24h"
            )
        ).one()
        message.status = status
        message.sent_at = BOOKED_AT
        message.error_code = 30003 if status == "failed" else None
    db.commit()
    states = {
        s["id"]: (s["text_state"], s["text_detail"])
        for s in api.get("/sessions?location_id=seattle&from=2027-02-24&to=2027-03-10").json
    }
    assert states[first_id][0] == "reminded"
    assert states[second_id] == ("failed", "reminder failed (error 30003)")
    assert states[sessions[2]["id"]][0] == "pending"


def test_text_state_precedence(api, booked, db):
    client_id = booked["client"]["id"]
    session_id = first(booked)
    r = api.patch(f"/clients/{client_id}", {"sms_consent": False})
    assert r.status_code == 200, r.json
    assert api.get(f"/sessions/{session_id}").json["text_state"] == "no_consent"
    from scheduler.db.models import Client, TherapySession

    db.expire_all()
    factories.opt_out_number(db, db.get(Client, client_id).phone, BOOKED_AT)
    db.get(TherapySession, session_id).confirmed_at = None
    db.commit()
    assert api.get(f"/sessions/{session_id}").json["text_state"] == "opted_out"
    db.get(TherapySession, session_id).confirmed_at = BOOKED_AT
    db.commit()
    assert api.get(f"/sessions/{session_id}").json["text_state"] == "confirmed"


def test_text_states_cost_the_same_for_one_day_or_many(api, booked, engine):
    def reads(path: str) -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            if args[2].lstrip().upper().startswith("SELECT"):
                seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert api.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    one = reads("/sessions?location_id=seattle&from=2027-02-24&to=2027-02-24")
    many = reads("/sessions?location_id=seattle&from=2027-02-24&to=2027-04-24")
    assert one == many


def test_undoing_a_late_cancel_before_the_start_tells_the_client_again(api, booked, clock, db):
    second = booked["series"]["sessions"][1]  # Mar 3, 17:00 Seattle
    clock.now = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)
    r = api.patch(f"/sessions/{second['id']}", {"status": "cancelled", "cancelled_by": "client"})
    assert r.json["attendance"] == "late_cancelled"
    back = api.patch(f"/sessions/{second['id']}", {"status": "scheduled"})
    assert back.status_code == 200, back.json
    kinds = db.scalars(
        select(OutboundMessage.kind).where(OutboundMessage.session_id == second["id"])
    ).all()
    assert "session_cancelled" in kinds and "session_changed" in kinds
