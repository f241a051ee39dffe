"""Front-desk pages: client contact and consents, weekly goals and reviews, the landing page."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from scheduler.db.models import Client, TherapySession
from scheduler.services.context import ServiceContext
from tests import factories
from tests.web.pages_support import csrf, sign_in, staff


@pytest.fixture
def desk(client: FlaskClient, db: Session) -> FlaskClient:
    staff(db, "desk@test.invalid")
    assert sign_in(client, "desk@test.invalid").status_code == 302
    return client


def _form(c: Client, **over: str) -> dict[str, str]:
    data = {"phone": c.phone, "consent_source": "", "consent_note": ""}
    for name in ("sms_consent", "goal_prompt_consent", "goal_detail_consent"):
        if getattr(c, name):
            data[name] = "y"
    data.update(over)
    return data


def test_client_page_shows_consent_history_and_opt_out(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    c = factories.client(db, ctx)
    factories.opt_out_number(db, c.phone, datetime(2026, 11, 20, 18, tzinfo=UTC))
    db.commit()
    page = desk.get(f"/clients/{c.id}").text
    assert "Opted out" in page and "no texts are sent" in page
    assert page.count("granted") >= 2  # sms_reminders and goal_prompts at creation
    assert "Pacific (P" in page and "America/Los_Angeles" not in page


def test_staff_cannot_undo_a_text_opt_out_without_saying_how(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    c = factories.client(db, ctx, sms_consent=False, goal_prompt_consent=False)
    factories.opt_out_number(db, c.phone, datetime(2026, 11, 20, 18, tzinfo=UTC))
    db.commit()
    token = csrf(desk, f"/clients/{c.id}")
    refused = desk.post(f"/clients/{c.id}", data=_form(c, sms_consent="y") | {"csrf_token": token})
    assert refused.status_code == 422
    # Each missing piece is named next to its own field.
    assert 'id="consent_source-error"' in refused.text and "is required" in refused.text
    assert 'id="consent_note-error"' in refused.text
    db.expire_all()
    assert db.get(Client, c.id).opted_out_at is not None
    done = desk.post(
        f"/clients/{c.id}",
        data=_form(
            c, sms_consent="y", consent_source="in_person", consent_note="Signed at the desk"
        )
        | {"csrf_token": token},
    )
    assert done.status_code == 302
    page = desk.get(done.location).text
    assert "Saved." in page and "texts START" in page
    db.expire_all()
    again = db.get(Client, c.id)
    assert again.sms_consent and again.opted_out_at is None


def test_changing_the_phone_is_validated(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    c = factories.client(db, ctx)
    db.commit()
    token = csrf(desk, f"/clients/{c.id}")
    bad = desk.post(f"/clients/{c.id}", data=_form(c, phone="12") | {"csrf_token": token})
    assert bad.status_code == 422 and 'id="phone-error"' in bad.text
    good = desk.post(
        f"/clients/{c.id}", data=_form(c, phone="(206) 555-0166") | {"csrf_token": token}
    )
    assert good.status_code == 302
    db.expire_all()
    assert db.get(Client, c.id).phone == "+12065550166"


def test_therapist_sets_the_weekly_goal_and_front_desk_cannot(
    app: Flask, desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    series = factories.series(db, ctx, at=time(17))
    staff(db, series.therapist.email, role="therapist")
    db.commit()
    first = series.sessions[0]
    page = desk.get(f"/sessions/{first.id}").text
    assert "Weekly goal" not in page
    token = csrf(desk, f"/sessions/{first.id}")
    refused = desk.post(
        f"/sessions/{first.id}/goal", data={"csrf_token": token, "weekly_goal": "x"}
    )
    assert refused.status_code == 403

    therapist = app.test_client()
    sign_in(therapist, series.therapist.email)
    token = csrf(therapist, f"/sessions/{first.id}")
    saved = therapist.post(
        f"/sessions/{first.id}/goal",
        data={"csrf_token": token, "weekly_goal": "Call my sister on Sunday"},
    )
    assert saved.status_code == 302
    db.expire_all()
    assert db.get(TherapySession, first.id).weekly_goal == "Call my sister on Sunday"
    second = series.sessions[1]
    review = therapist.get(f"/sessions/{second.id}").text
    assert "Weekly review" in review and "Call my sister on Sunday" in review
    assert "Call my sister" not in desk.get(f"/sessions/{second.id}").text


def test_landing_remembers_the_office_last_opened(desk: FlaskClient) -> None:
    assert desk.get("/").location == "/offices/tucson/day"
    assert desk.get("/offices/miami/week").status_code == 200
    assert desk.get("/").location == "/offices/miami/day"
    switched = desk.get("/offices?office=dallas&view=week")
    assert switched.location == "/offices/dallas/week"
    assert desk.get("/offices?office=nowhere").status_code == 404


def test_week_view_labels_the_zone_and_the_clock_change(
    desk: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    series = factories.series(db, ctx)  # Wednesdays at 17:00 from 2027-02-24
    db.commit()
    page = desk.get("/offices/seattle/week?start=2027-03-10").text
    assert "week of Monday, March 8, 2027" in page
    assert "The clocks change this week" in page and "PDT" in page
    assert series.client.last_name in page
    assert desk.get("/offices/tucson/week?start=2027-03-10").text.count("clocks change") == 0


def test_a_therapist_rotates_only_their_own_feed_link(
    app: Flask, db: Session, ctx: ServiceContext
) -> None:
    mine = factories.series(db, ctx)
    other = factories.therapist(db, ctx, "seattle")
    staff(db, mine.therapist.email, role="therapist")
    db.commit()
    client = app.test_client()
    sign_in(client, mine.therapist.email)
    token = csrf(client, f"/therapists/{mine.therapist_id}")
    own = client.post(f"/therapists/{mine.therapist_id}/feed", data={"csrf_token": token})
    assert own.status_code == 302
    assert "/feeds/therapists/" in client.get(own.location).text
    theirs = client.post(f"/therapists/{other.id}/feed", data={"csrf_token": token})
    assert theirs.status_code == 404
    clients_link = client.post(f"/clients/{mine.client_id}/feed", data={"csrf_token": token})
    assert clients_link.status_code == 403
