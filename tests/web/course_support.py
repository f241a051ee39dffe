"""Shared set-up for the course tests: a fixed clock, a therapist with a login, bookings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from scheduler.wiring import Container
from tests.web.conftest import Api, make_user_token


class Clock:
    """A settable "now" for the whole app (the container's clock)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Practice:
    api: Api  # admin
    therapist: dict[str, Any]
    therapist_api: Api
    other_therapist_api: Api
    desk_api: Api
    client: dict[str, Any]


@pytest.fixture
def clock(container: Container) -> Clock:
    # Monday 30 August 2027, 09:00 in Seattle.
    fixed = Clock(datetime(2027, 8, 30, 16, 0, tzinfo=UTC))
    container.clock = fixed
    return fixed


def new_client(api: Api, first: str = "Jo", last: str = "Quinn", phone: str = "(206) 555-0142"):
    r = api.post(
        "/clients",
        {
            "first_name": first,
            "last_name": last,
            "phone": phone,
            "home_location_id": "seattle",
            "sms_consent": True,
            "goal_prompt_consent": False,
        },
    )
    assert r.status_code == 201, r.json
    return r.json


@pytest.fixture
def practice(api: Api, client: FlaskClient, db: Session, clock: Clock) -> Practice:
    t = api.post(
        "/therapists",
        {"name": "Dr. Ada Byrne", "email": "ada@practice.test", "location_ids": ["seattle"]},
    )
    assert t.status_code == 201, t.json
    other = api.post(
        "/therapists",
        {"name": "Dr. Ben Other", "email": "ben@practice.test", "location_ids": ["seattle"]},
    )
    therapist_token = make_user_token(
        db, "ada.login@test.invalid", "therapist", therapist_id=t.json["id"]
    )
    other_token = make_user_token(
        db, "ben.login@test.invalid", "therapist", therapist_id=other.json["id"]
    )
    desk_token = make_user_token(db, "desk@test.invalid", "front_desk")
    return Practice(
        api=api,
        therapist=t.json,
        therapist_api=Api(client, therapist_token),
        other_therapist_api=Api(client, other_token),
        desk_api=Api(client, desk_token),
        client=new_client(api),
    )


def series_body(p: Practice, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": p.client["id"],
        "therapist_id": p.therapist["id"],
        "location_id": "seattle",
        "first_session_date": "2027-08-31",
        "start_time": "17:00",
        "session_count": 12,
        "problem_area": "role_transition",
    }
    body.update(over)
    return body


def book(p: Practice, **over: Any) -> dict[str, Any]:
    r = p.api.post("/series", series_body(p, **over))
    assert r.status_code == 201, r.json
    return r.json
