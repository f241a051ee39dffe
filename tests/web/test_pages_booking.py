"""Front-desk pages: booking with its preview, changing sessions, and escaping of names."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.db.models import Client, Series, TherapySession
from scheduler.services import inbox
from scheduler.services.context import ServiceContext
from tests import factories
from tests.web.pages_support import csrf, seattle_first_monday, sign_in, staff

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def desk(client: FlaskClient, db: Session) -> FlaskClient:
    staff(db, "desk@test.invalid")
    assert sign_in(client, "desk@test.invalid").status_code == 302
    return client


def _first_monday() -> datetime:
    today = datetime.now(ZoneInfo("America/Los_Angeles")).date()
    return datetime.combine(seattle_first_monday(today), time(17))


def _booking(therapist_id: int, **over: Any) -> dict[str, Any]:
    first = _first_monday()
    form = {
        "client_mode": "new",
        "first_name": "Robin",
        "last_name": "Hale",
        "phone": "(206) 555-0177",
        "client_timezone": "",
        "sms_consent": "y",
        "location_id": "seattle",
        "therapist_id": str(therapist_id),
        "room": "",
        "first_session_date": first.date().isoformat(),
        "start_time": "17:00",
        "session_count": "16",
        "duration_minutes": "50",
        "problem_area": "role_transition",
        "action": "book",
    }
    form.update(over)
    return form


def test_preview_shows_dst_change_holiday_skip_and_make_up(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    therapist = factories.therapist(db, ctx, "seattle")
    db.commit()
    form = _booking(therapist.id) | {"csrf_token": csrf(desk, "/book")}
    response = desk.post("/book/preview", data=form, headers={"Accept": "application/json"})
    assert response.status_code == 200
    body = response.json
    assert body["ok"] is True and body["conflicts"] == 0
    assert len(body["sessions"]) == 16
    assert {s["time"] for s in body["sessions"]} == {"17:00"}
    zones = [s["zone"] for s in body["sessions"]]
    assert zones[0] == "PST" and zones[-1] == "PDT"
    assert len(body["dst_notes"]) == 1 and "PDT" in body["dst_notes"][0]
    [skip] = body["skipped"]
    assert "Presidents" in skip["reason"] and "holiday" in skip["reason"]
    assert skip["make_up"] == body["sessions"][-1]["date"]
    assert "Daylight saving" in body["html"] and "Skipped" in body["html"]


def test_preview_marks_conflicts_with_the_therapists_other_sessions(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    first = _first_monday()
    existing = factories.series(db, ctx, first=first.date(), at=time(17), count=12)
    db.commit()
    form = _booking(existing.therapist_id) | {"csrf_token": csrf(desk, "/book")}
    body = desk.post("/book/preview", data=form, headers={"Accept": "application/json"}).json
    assert body["ok"] is False
    assert body["conflicts"] >= 12
    assert any("another session" in p for s in body["sessions"] for p in s["problems"])


def test_preview_explains_what_is_missing(desk: FlaskClient) -> None:
    token = csrf(desk, "/book")
    body = desk.post("/book/preview", data={"csrf_token": token, "location_id": "seattle"}).json
    assert body["ok"] is False and "first date" in body["error"]


def test_booking_form_creates_client_and_series_then_shows_it(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    therapist = factories.therapist(db, ctx, "seattle")
    db.commit()
    response = desk.post("/book", data=_booking(therapist.id) | {"csrf_token": csrf(desk, "/book")})
    assert response.status_code == 302, response.text
    series = db.scalars(select(Series).where(Series.therapist_id == therapist.id)).one()
    assert response.location == f"/series/{series.id}"
    assert series.client.phone == "+12065550177"
    assert len(series.sessions) == 16
    page = desk.get(response.location)
    assert "Booked 16 sessions" in page.text and "Robin Hale" in page.text
    assert "series.booked" in page.text  # the audit trail


def test_booking_form_shows_field_errors_and_writes_nothing(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    therapist = factories.therapist(db, ctx, "seattle")
    db.commit()
    data = _booking(therapist.id, phone="555", session_count="40")
    response = desk.post("/book", data=data | {"csrf_token": csrf(desk, "/book")})
    assert response.status_code == 422
    assert "is not" in response.text  # the phone problem, next to the phone field
    assert 'aria-invalid="true"' in response.text
    assert db.scalar(select(Client).where(Client.last_name == "Hale")) is None


def test_booking_form_refuses_conflicts_with_the_list(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    first = _first_monday()
    existing = factories.series(db, ctx, first=first.date(), at=time(17), count=12)
    client = factories.client(db, ctx)
    db.commit()
    data = _booking(existing.therapist_id, client_mode="existing", client_id=str(client.id))
    response = desk.post("/book", data=data | {"csrf_token": csrf(desk, "/book")})
    assert response.status_code == 422
    assert "another session" in response.text
    assert db.scalar(select(Series).where(Series.client_id == client.id)) is None


def test_phone_is_checked_as_typed(desk: FlaskClient) -> None:
    good = desk.get("/book/phone?phone=(206) 555-0131").json
    assert good == {"ok": True, "e164": "+12065550131", "message": "OK: +12065550131"}
    assert desk.get("/book/phone?phone=12").json["ok"] is False


def _series(db: Session, ctx: ServiceContext, **kw: Any) -> Series:
    first = _first_monday()
    series = factories.series(db, ctx, first=first.date(), at=time(17), **kw)
    db.commit()
    return series


def test_reschedule_and_cancel_through_the_session_page(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    series = _series(db, ctx)
    second, third = series.sessions[1], series.sessions[2]
    page = desk.get(f"/sessions/{second.id}")
    assert page.status_code == 200 and "Reschedule" in page.text
    new_day = second.local_date + timedelta(days=1)
    moved = desk.post(
        f"/sessions/{second.id}/reschedule",
        data={
            "csrf_token": csrf(desk, f"/sessions/{second.id}"),
            "new_date": new_day.isoformat(),
            "new_time": "09:30",
        },
    )
    assert moved.status_code == 302 and moved.location == f"/series/{series.id}"
    cancelled = desk.post(
        f"/sessions/{third.id}/cancel",
        data={
            "csrf_token": csrf(desk, f"/sessions/{third.id}"),
            "cancelled_by": "client",
            "make_up": "",
            "reason": "travel",
        },
    )
    assert cancelled.status_code == 302
    db.expire_all()
    assert db.get(TherapySession, second.id).local_date == new_day
    assert db.get(TherapySession, second.id).local_time == time(9, 30)
    gone = db.get(TherapySession, third.id)
    assert gone.status == "cancelled" and gone.cancelled_by == "client"
    text = desk.get(f"/series/{series.id}").text
    assert "cancelled by client" in text and "session.rescheduled" in text


def test_reschedule_into_a_gap_or_the_past_is_refused_with_the_reason(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    series = _series(db, ctx)
    s = series.sessions[0]
    response = desk.post(
        f"/sessions/{s.id}/reschedule",
        data={
            "csrf_token": csrf(desk, f"/sessions/{s.id}"),
            "new_date": "2020-01-06",
            "new_time": "10:00",
        },
    )
    assert response.status_code == 422 and "in the past" in response.text
    db.expire_all()
    assert db.get(TherapySession, s.id).local_date == s.local_date


def test_renegotiate_and_cancel_the_rest(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    series = _series(db, ctx, count=12)
    token = csrf(desk, f"/series/{series.id}")
    shorter = desk.post(
        f"/series/{series.id}/renegotiate", data={"csrf_token": token, "session_count": "10"}
    )
    assert shorter.status_code == 302
    unconfirmed = desk.post(
        f"/series/{series.id}/cancel-rest",
        data={"csrf_token": token, "cancelled_by": "practice"},
    )
    assert unconfirmed.status_code == 422  # the confirmation box was not ticked
    ended = desk.post(
        f"/series/{series.id}/cancel-rest",
        data={"csrf_token": token, "cancelled_by": "practice", "confirm": "y"},
    )
    assert ended.status_code == 302
    db.expire_all()
    again = db.get(Series, series.id)
    assert again.session_count == 10 and again.status == "ended"
    assert all(s.status == "cancelled" for s in again.sessions)
    assert desk.get(f"/series/{series.id}").status_code == 200


def test_a_script_in_a_name_is_shown_as_text_everywhere(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    client = factories.client(db, ctx, first_name=XSS, last_name=XSS)
    therapist = factories.therapist(db, ctx, "seattle", name=XSS)
    series = _series(db, ctx, client_obj=client, therapist_obj=therapist)
    s = series.sessions[0]
    local = s.starts_at.astimezone(ZoneInfo("America/Los_Angeles"))
    monday = local.date() - timedelta(days=local.weekday())
    pages = [
        f"/offices/seattle/day?date={local.date().isoformat()}",
        f"/offices/seattle/week?start={monday.isoformat()}",
        f"/series/{series.id}",
        f"/sessions/{s.id}",
        f"/clients/{client.id}",
        f"/clients?q={client.phone[-4:]}",
        f"/book?client_id={client.id}",
        f"/therapists/{therapist.id}",
        "/therapists",
    ]
    for path in pages:
        page = desk.get(path)
        assert page.status_code == 200, path
        assert XSS not in page.text, path
        assert ESCAPED in page.text, path
    found = desk.get(f"/book/clients?q={client.phone[-4:]}")
    assert found.mimetype == "application/json"


def test_a_script_in_an_inbox_text_is_shown_as_text(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    client = factories.client(db, ctx, first_name=XSS)
    item = inbox.open_item(
        db,
        office_id="seattle",
        kind="free_text",
        summary=f"please call {XSS}",
        at=datetime.now(UTC),
        client_id=client.id,
    )
    db.commit()
    page = desk.get("/offices/seattle/inbox")
    assert page.status_code == 200
    assert XSS not in page.text and ESCAPED in page.text
    resolved = desk.post(
        f"/inbox/{item.id}/resolve",
        data={"csrf_token": csrf(desk, "/offices/seattle/inbox"), f"item{item.id}-note": "done"},
    )
    assert resolved.status_code == 302
    db.expire_all()
    assert inbox.get_item(db, item.id).status == "resolved"
    assert "done" in desk.get("/offices/seattle/inbox?show=resolved").text


def test_feed_link_is_shown_from_the_start_and_can_be_rotated(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    therapist = factories.therapist(db, ctx, "seattle")
    db.commit()
    first = desk.get(f"/therapists/{therapist.id}").text
    assert "/feeds/therapists/" in first and 'data-copy="feed-url"' in first
    token = csrf(desk, f"/therapists/{therapist.id}")
    assert (
        desk.post(f"/therapists/{therapist.id}/feed", data={"csrf_token": token}).status_code == 302
    )
    second = desk.get(f"/therapists/{therapist.id}").text

    def url(text: str) -> str:
        return text.split("/feeds/therapists/")[1].split(".ics")[0]

    assert url(first) != url(second)


def test_preview_button_works_without_scripts_and_books_nothing(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    therapist = factories.therapist(db, ctx, "seattle")
    db.commit()
    data = _booking(therapist.id, action="preview", problem_area="")
    page = desk.post("/book", data=data | {"csrf_token": csrf(desk, "/book")})
    assert page.status_code == 200
    assert "Daylight saving" in page.text and "Presidents" in page.text
    assert db.scalar(select(Series).where(Series.therapist_id == therapist.id)) is None


def test_a_new_client_with_a_phone_on_file_is_pointed_to_the_existing_record(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    therapist = factories.therapist(db, ctx, "seattle")
    known = factories.client(db, ctx, "seattle", first_name="Robin", phone="+12065550177")
    db.commit()
    before = db.scalars(select(Client.id)).all()
    response = desk.post("/book", data=_booking(therapist.id) | {"csrf_token": csrf(desk, "/book")})
    assert response.status_code == 422
    assert f"(client {known.id})" in response.text and "choose that client" in response.text
    assert db.scalars(select(Client.id)).all() == before  # nothing written
