"""Security headers on pages, the API, feeds, webhooks and static files."""

from __future__ import annotations

from dataclasses import replace

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from scheduler.services import feeds
from scheduler.services.context import ServiceContext
from scheduler.web import create_app
from scheduler.wiring import Container
from tests import factories
from tests.web.conftest import Api
from tests.web.pages_support import sign_in, staff


def assert_common(response) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_api_answers_are_never_stored(api: Api, client: FlaskClient) -> None:
    for response in (
        api.get("/locations"),
        api.get("/clients/999999"),  # an error answer too
        client.get("/api/v1/locations"),  # 401 without a token
        client.get("/api/v1/openapi.json"),
    ):
        assert response.headers["Cache-Control"] == "no-store", response.request.path
        assert_common(response)
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_pages_showing_client_data_are_not_stored_nor_framed(
    client: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    series = factories.series(db, ctx)
    db.commit()
    staff(db, "desk@test.invalid")
    sign_in(client, "desk@test.invalid")
    for path in (f"/clients/{series.client_id}", f"/series/{series.id}", "/signin", "/nowhere"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["Referrer-Policy"] == "same-origin", path
        assert_common(response)
    page = client.get(f"/clients/{series.client_id}")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_feeds_keep_revalidation_but_no_shared_caching(
    client: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    series = factories.series(db, ctx)
    token = feeds.rotate_token(db, ctx, "therapist", series.therapist_id, actor="test")
    db.commit()
    path = f"/feeds/therapists/{token}.ics"
    first = client.get(path)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert first.headers["Referrer-Policy"] == "no-referrer"
    assert_common(first)
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "private, no-cache"
    assert again.headers["X-Content-Type-Options"] == "nosniff"


def test_webhooks_health_and_static(client: FlaskClient) -> None:
    hook = client.post("/webhooks/twilio/inbound", data={"Body": "R"})
    assert hook.headers["Cache-Control"] == "no-store"
    assert_common(hook)
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"
    with client.get("/static/frontdesk.css") as static:
        assert static.status_code == 200
        assert static.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" not in static.headers.get("Cache-Control", "")  # may be cached


def test_no_hsts_when_the_public_url_is_plain_http(container: Container) -> None:
    container.settings = replace(container.settings, public_base_url="http://127.0.0.1:5000")
    app: Flask = create_app(container=container)
    response = app.test_client().get("/signin")
    assert "Strict-Transport-Security" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
