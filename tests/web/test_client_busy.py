"""A client is never in two places at once: booking, moving and the booking page all refuse a
second session at the hour the client already has one, with another therapist, as `client_busy`
(the therapist and room clashes are `therapist_busy` and `room_busy`)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.db.models import Client, Series, TherapySession
from scheduler.services.context import ServiceContext
from tests import factories
from tests.web.pages_support import csrf, seattle_first_monday, sign_in, staff
from tests.web.test_pages_booking import _booking

FIRST = date(2027, 2, 24)  # a Wednesday


@pytest.fixture
def world(db: Session, ctx: ServiceContext) -> dict[str, object]:
    """One client already booked Wednesdays 17:00 with Dr. A; Dr. B is free then."""
    client = factories.client(db, ctx)
    doctor_a = factories.therapist(db, ctx, "seattle", "folsom", name="Dr. A")
    doctor_b = factories.therapist(db, ctx, "seattle", "folsom", name="Dr. B")
    booked = factories.series(
        db, ctx, first=FIRST, at=time(17), count=12, therapist_obj=doctor_a, client_obj=client
    )
    db.commit()
    return {"client": client, "a": doctor_a, "b": doctor_b, "series": booked}


def _series_body(world: dict, **over: object) -> dict[str, object]:
    body = {
        "client_id": world["client"].id,
        "therapist_id": world["b"].id,
        "location_id": "seattle",
        "first_session_date": FIRST.isoformat(),
        "start_time": "17:00",
        "session_count": 12,
        "problem_area": "grief",
    }
    return body | over


def _series_count(db: Session, client: Client) -> int:
    query = select(func.count()).select_from(Series).where(Series.client_id == client.id)
    return db.scalar(query) or 0


def test_booking_a_second_series_at_the_same_hour_is_client_busy(api, db, world):
    response = api.post("/series", _series_body(world))
    assert response.status_code == 409, response.json
    conflicts = response.json["conflicts"]
    assert {c["reason"] for c in conflicts} == {"client_busy"}
    assert len(conflicts) == 12  # every week clashes
    blocker = conflicts[0]["blocked_by"]
    assert blocker["type"] == "session" and blocker["therapist_id"] == world["a"].id
    assert "the client has another session then with Dr. A" in conflicts[0]["message"]
    assert _series_count(db, world["client"]) == 1  # nothing written


def test_an_overlap_not_just_the_same_start_is_client_busy(api, world):
    response = api.post("/series", _series_body(world, start_time="17:30"))
    assert response.status_code == 409
    assert {c["reason"] for c in response.json["conflicts"]} == {"client_busy"}


def test_the_same_client_at_another_office_is_still_busy(api, world):
    response = api.post("/series", _series_body(world, location_id="folsom"))
    assert response.status_code == 409
    assert {c["reason"] for c in response.json["conflicts"]} == {"client_busy"}


def test_after_the_first_session_ends_the_client_is_free(api, db, world):
    response = api.post("/series", _series_body(world, start_time="18:00"))
    assert response.status_code == 201, response.json
    assert _series_count(db, world["client"]) == 2


def test_moving_a_session_onto_the_clients_other_session_is_client_busy(api, db, ctx, world):
    # The same client's second course, Thursdays with Dr. B; one session moves to Wednesday 17:00.
    other = factories.series(
        db,
        ctx,
        first=FIRST + timedelta(days=1),
        at=time(17),
        count=12,
        therapist_obj=world["b"],
        client_obj=world["client"],
    )
    db.commit()
    moved = other.sessions[0]
    before = moved.starts_at
    target = {"starts_at_local": f"{FIRST.isoformat()}T17:00"}
    preview = api.post(f"/sessions/{moved.id}/preview", target)
    assert preview.status_code == 200, preview.json
    assert "client_busy" in str(preview.json)
    response = api.patch(f"/sessions/{moved.id}", target)
    assert response.status_code == 409, response.json
    assert [c["reason"] for c in response.json["conflicts"]] == ["client_busy"]
    db.expire_all()
    assert db.get(TherapySession, moved.id).starts_at == before


def test_the_booking_page_shows_the_clients_other_session(
    client: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    staff(db, "desk@test.invalid")
    sign_in(client, "desk@test.invalid")
    monday = seattle_first_monday(datetime.now(ZoneInfo("America/Los_Angeles")).date())
    person = factories.client(db, ctx)
    doctor_a = factories.therapist(db, ctx, "seattle", name="Dr. A")
    doctor_b = factories.therapist(db, ctx, "seattle", name="Dr. B")
    factories.series(
        db, ctx, first=monday, at=time(17), count=12, therapist_obj=doctor_a, client_obj=person
    )
    db.commit()
    data = _booking(doctor_b.id, client_mode="existing", client_id=str(person.id))
    response = client.post("/book", data=data | {"csrf_token": csrf(client, "/book")})
    assert response.status_code == 422
    assert "the client has another session then with Dr. A" in response.text
    assert _series_count(db, person) == 1


def test_the_booking_preview_warns_before_booking(
    client: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    staff(db, "desk@test.invalid")
    sign_in(client, "desk@test.invalid")
    monday = seattle_first_monday(datetime.now(ZoneInfo("America/Los_Angeles")).date())
    person = factories.client(db, ctx)
    doctor_a = factories.therapist(db, ctx, "seattle", name="Dr. A")
    doctor_b = factories.therapist(db, ctx, "seattle", name="Dr. B")
    factories.series(
        db, ctx, first=monday, at=time(17), count=12, therapist_obj=doctor_a, client_obj=person
    )
    db.commit()
    data = _booking(doctor_b.id, client_mode="existing", client_id=str(person.id))
    response = client.post("/book/preview", data=data | {"csrf_token": csrf(client, "/book")})
    assert response.status_code == 200
    assert "the client has another session then with Dr. A" in response.text
    # A new client (nobody on file yet) has no other sessions to clash with.
    data = _booking(doctor_b.id, client_mode="new")
    response = client.post("/book/preview", data=data | {"csrf_token": csrf(client, "/book")})
    assert "another session" not in response.text
