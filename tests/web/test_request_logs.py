"""LOG_FORMAT=json: one JSON object a line per request, with a request id and no client data."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from scheduler import logs
from scheduler.config import Settings
from scheduler.web import create_app
from scheduler.wiring import Container
from tests import factories
from tests.web.conftest import make_user_token


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What our log handler writes (it writes to stderr; here, to a buffer)."""
    logs.configure("json")
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "_ipt", False)]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    yield buffer
    handler.setStream(old)  # type: ignore[arg-type]
    logs.configure("text")


@pytest.fixture
def json_client(container: Container) -> FlaskClient:
    container.settings = replace(container.settings, log_format="json")
    return create_app(container=container).test_client()


def records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def request_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [r for r in records(buffer) if r["logger"] == "scheduler.requests"]


def test_one_json_object_a_line_with_the_route_template_and_no_client_data(
    json_client: FlaskClient, lines: io.StringIO, db: Session, ctx: Any
) -> None:
    person = factories.client(db, ctx, first_name="Zelda", last_name="Quux")
    token = make_user_token(db, "admin@test.invalid", "admin")
    response = json_client.get(
        f"/api/v1/clients/{person.id}?q=Zelda+Quux",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    (line,) = request_lines(lines)
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/clients/<int:client_id>"
    assert line["endpoint"] == "api.get_client"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert len(line["request_id"]) == 32  # made here: the caller sent none
    raw = lines.getvalue()
    for secret in ("Zelda", "Quux", "q=", f"/clients/{person.id}", person.phone, token):
        assert secret not in raw


def test_the_callers_request_id_is_honoured_and_returned(
    json_client: FlaskClient, lines: io.StringIO
) -> None:
    response = json_client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.9:x"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.9:x"
    (line,) = request_lines(lines)
    assert line["request_id"] == "lb-7f3a.9:x"
    assert line["path"] == "/healthz" and line["status"] == 200


def test_a_request_id_that_is_not_one_is_replaced(
    json_client: FlaskClient, lines: io.StringIO
) -> None:
    forged = 'x" injected\nline'
    response = json_client.get("/healthz", headers={"X-Request-ID": "a" * 129})
    assert response.headers["X-Request-ID"] != "a" * 129
    response = json_client.get("/healthz", headers={"X-Request-ID": forged.replace("\n", " ")})
    assert response.headers["X-Request-ID"] != forged.replace("\n", " ")
    assert len(request_lines(lines)) == 2


def test_unknown_paths_are_logged_without_the_path(
    json_client: FlaskClient, lines: io.StringIO
) -> None:
    secret_path = "/feeds/therapists/not-a-token-but-could-be-0123.ics/extra"
    assert json_client.get(secret_path).status_code == 404
    (line,) = request_lines(lines)
    assert line["path"] == "<unmatched>" and line["status"] == 404
    assert "not-a-token" not in lines.getvalue()


def test_log_format_is_read_from_the_environment() -> None:
    assert Settings.from_env({"LOG_FORMAT": "json", "SECRET_KEY": "x" * 20}).log_format == "json"
    assert Settings.from_env({"SECRET_KEY": "x" * 20}).log_format == "text"
    with pytest.raises(ValueError, match="LOG_FORMAT must be text or json"):
        Settings.from_env({"LOG_FORMAT": "xml", "SECRET_KEY": "x" * 20})
