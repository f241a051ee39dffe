"""Front-desk pages: signing in, the sign-in throttle, CSRF, and who may open what."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.db.models import SignInFailure, TherapySession
from scheduler.services import signin
from scheduler.services.context import ServiceContext
from tests import factories
from tests.web.conftest import Api
from tests.web.pages_support import PASSWORD, csrf, sign_in, staff


def test_signed_out_visitor_is_sent_to_sign_in(client: FlaskClient) -> None:
    for path in ("/", "/offices/seattle/day", "/book", "/clients/1", "/series/1"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.startswith("/signin?next="), path
    page = client.get("/signin")
    assert page.status_code == 200
    assert 'for="email"' in page.text and 'for="password"' in page.text


def test_signed_out_script_request_gets_401_json(client: FlaskClient) -> None:
    response = client.get("/book/clients?q=ab", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


def test_sign_in_lands_on_an_office_day_and_sign_out_ends_it(
    client: FlaskClient, db: Session
) -> None:
    staff(db, "desk@test.invalid")
    response = sign_in(client, "desk@test.invalid")
    assert response.status_code == 302 and response.location == "/"
    day = client.get("/", follow_redirects=True)
    assert day.status_code == 200
    assert "Tucson" in day.text and "America/Phoenix" in day.text
    token = csrf(client, "/clients")
    assert client.post("/signout", data={"csrf_token": token}).status_code == 302
    assert client.get("/clients").status_code == 302


def test_sign_in_follows_only_local_next(app: Flask, db: Session) -> None:
    staff(db, "desk@test.invalid")
    for target, expected in (
        ("/offices/seattle/week", "/offices/seattle/week"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ):
        client = app.test_client()
        token = csrf(client)
        response = client.post(
            "/signin",
            data={
                "csrf_token": token,
                "email": "desk@test.invalid",
                "password": PASSWORD,
                "next": target,
            },
        )
        assert response.location == expected, target


def test_wrong_password_is_refused_and_recorded(client: FlaskClient, db: Session) -> None:
    staff(db, "desk@test.invalid")
    response = sign_in(client, "desk@test.invalid", "wrong-password-9")
    assert response.status_code == 401
    assert "Wrong email or password" in response.text
    assert client.get("/clients").status_code == 302
    assert db.scalar(select(func.count()).select_from(SignInFailure)) == 1


def test_sign_in_throttles_per_account_and_address(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    staff(db, "desk@test.invalid")
    for _ in range(signin.MAX_FAILURES):
        assert sign_in(client, "DESK@test.invalid", "wrong-password-9").status_code == 401
    # Now even the right password is refused from this address...
    blocked = sign_in(client, "desk@test.invalid")
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.text
    assert client.get("/clients").status_code == 302
    # ...while the same account from another address, and another account, still get in.
    other = sign_in(client, "desk@test.invalid", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 302
    staff(db, "desk2@test.invalid")
    assert sign_in(app.test_client(), "desk2@test.invalid").status_code == 302


def test_throttle_lifts_after_the_window_and_success_clears_failures(
    db: Session, ctx: ServiceContext
) -> None:
    staff(db, "desk@test.invalid")
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    bad = signin.Attempt("desk@test.invalid", "nope-nope-nope", "192.0.2.1")
    good = signin.Attempt("desk@test.invalid", PASSWORD, "192.0.2.1")
    for i in range(signin.MAX_FAILURES):
        with pytest.raises(signin.BadCredentials):
            signin.sign_in(db, bad, now=now + timedelta(minutes=i))
    with pytest.raises(signin.Throttled) as refused:
        signin.sign_in(db, good, now=now + timedelta(minutes=5))
    # The first failure (at +0) ages out at +15 minutes: 10 minutes from +5.
    assert refused.value.retry_after == timedelta(minutes=10)
    assert refused.value.minutes == 10
    user = signin.sign_in(db, good, now=now + signin.WINDOW + timedelta(seconds=1))
    assert user.email == "desk@test.invalid"
    left = db.scalar(
        select(func.count()).select_from(SignInFailure).where(SignInFailure.ip == "192.0.2.1")
    )
    assert left == 0


def test_demo_credentials_only_when_the_demo_was_seeded(client: FlaskClient, app: Flask) -> None:
    assert "demo-password-1" not in client.get("/signin").text
    app.config["DEMO_SIGN_IN"] = True
    page = client.get("/signin").text
    assert "admin@demo.invalid" in page and "demo-password-1" in page


def test_post_without_csrf_token_is_400_and_changes_nothing(
    client: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    series = factories.series(db, ctx)
    db.commit()
    staff(db, "desk@test.invalid")
    sign_in(client, "desk@test.invalid")
    first = series.sessions[0]
    response = client.post(
        f"/sessions/{first.id}/cancel", data={"cancelled_by": "client", "reason": "x"}
    )
    assert response.status_code == 400
    wrong = client.post(
        f"/sessions/{first.id}/cancel",
        data={"cancelled_by": "client", "csrf_token": "not-the-token"},
    )
    assert wrong.status_code == 400
    assert client.post("/book/preview", data={"location_id": "seattle"}).status_code == 400
    assert client.post("/signout").status_code == 400
    db.expire_all()
    assert db.get(TherapySession, first.id).status == "scheduled"


def test_sign_in_form_needs_its_csrf_token(client: FlaskClient, db: Session) -> None:
    staff(db, "desk@test.invalid")
    response = client.post("/signin", data={"email": "desk@test.invalid", "password": PASSWORD})
    assert response.status_code == 400


def test_bearer_api_and_webhooks_are_not_subject_to_csrf(client: FlaskClient, api: Api) -> None:
    created = api.post(
        "/clients",
        {
            "first_name": "Ada",
            "last_name": "Lane",
            "phone": "+12065550142",
            "home_location_id": "seattle",
            "sms_consent": False,
        },
    )
    assert created.status_code == 201, created.json
    # An unsigned webhook is refused by its own signature check (403), not by CSRF (400).
    assert client.post("/webhooks/twilio/inbound", data={"Body": "R"}).status_code == 403


def test_therapist_cannot_open_another_therapists_client(
    client: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    mine = factories.series(db, ctx)
    theirs = factories.series(db, ctx)
    staff(db, mine.therapist.email, role="therapist")
    db.commit()
    sign_in(client, mine.therapist.email)
    assert client.get(f"/clients/{mine.client_id}").status_code == 200
    assert client.get(f"/series/{mine.id}").status_code == 200
    for path in (
        f"/clients/{theirs.client_id}",
        f"/series/{theirs.id}",
        f"/sessions/{theirs.sessions[0].id}",
        f"/therapists/{theirs.therapist_id}",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get("/book").status_code == 403
    assert client.get("/offices/seattle/day").status_code == 403
    # A therapist lands on their own week.
    landing = client.get("/")
    assert landing.location == f"/therapists/{mine.therapist_id}"


def test_front_desk_sees_only_assigned_offices(
    client: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    elsewhere = factories.series(db, ctx, office="dallas", at=time(15))
    staff(db, "seattle-desk@test.invalid", office_ids=["seattle"])
    sign_in(client, "seattle-desk@test.invalid")
    assert client.get("/offices/seattle/day").status_code == 200
    assert client.get("/offices/dallas/day").status_code == 403
    # Rows of other offices are out of reach: 404, exactly as if they did not exist.
    assert client.get(f"/series/{elsewhere.id}").status_code == 404
    assert client.get(f"/clients/{elsewhere.client_id}").status_code == 404
    office_menu = client.get("/offices/seattle/week").text
    assert 'value="seattle"' in office_menu and 'value="dallas"' not in office_menu


def test_pages_carry_a_strict_content_security_policy(client: FlaskClient) -> None:
    response = client.get("/signin")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
