"""Every API route and every page, as each kind of user, against one table of expected answers.

The columns are the five users of `access_world`: admin, an all-office desk user, a Miami-only
desk user, therapist A (treats Miami's client M) and therapist B (treats Seattle's client S).
Outside a user's reach a row answers 404 (like a missing one); an action the user may not take
on a row it reaches answers 403. Each request runs in a savepoint that is rolled back, so every
user meets the same data.

The table is complete by construction: `test_the_table_covers_every_route` fails when a route
of the app has no row here, so a new route cannot ship without deciding who may use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.web.access_world import (
    USERS,
    World,
    page_clients,
    world_fixture,  # noqa: F401  (fixture `world`)
)

ALL = "{0} {0} {0} {0} {0}"


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # formatted with the world's ids: {client_m}, {missing}, ...
    expect: str  # five statuses: admin desk_all desk_miami ther_a ther_b
    body: dict[str, Any] | None = None

    def statuses(self) -> dict[str, int]:
        codes = [int(c) for c in self.expect.split()]
        assert len(codes) == len(USERS), self
        return dict(zip(USERS, codes, strict=True))


def every(status: int) -> str:
    return ALL.format(status)


def _new_client(home: str, phone: str) -> dict[str, Any]:
    return {
        "first_name": "Noa",
        "last_name": "New",
        "phone": phone,
        "home_location_id": home,
        "sms_consent": False,
    }


def _series(office: str, therapist: str, client: str, at: str) -> dict[str, Any]:
    return {
        "client_id": f"{{{client}}}",
        "therapist_id": f"{{{therapist}}}",
        "location_id": office,
        "first_session_date": "{first_date}",
        "start_time": at,
        "session_count": 12,
        "problem_area": "grief",
    }


API = [
    # Offices are the practice's directory: everyone reads them; working there is per office.
    Case("GET", "/api/v1/locations", every(200)),
    Case("GET", "/api/v1/locations/miami", every(200)),
    Case("GET", "/api/v1/locations/atlantis", every(404)),
    Case("POST", "/api/v1/locations/miami/feed-token", "201 201 201 403 403"),
    Case("POST", "/api/v1/locations/seattle/feed-token", "201 201 403 403 403"),
    Case("POST", "/api/v1/locations/atlantis/feed-token", every(404)),
    # Therapists.
    Case(
        "POST",
        "/api/v1/therapists",
        "201 201 201 403 403",
        {"name": "Dr. New", "email": "new@access.test", "location_ids": ["miami"]},
    ),
    Case(
        "POST",
        "/api/v1/therapists",
        "201 201 403 403 403",
        {"name": "Dr. New", "email": "new@access.test", "location_ids": ["miami", "seattle"]},
    ),
    Case("GET", "/api/v1/therapists/{ther_a}", "200 200 200 200 404"),
    Case("GET", "/api/v1/therapists/{ther_b}", "200 200 404 404 200"),
    Case("GET", "/api/v1/therapists/{ther_c}", "200 200 200 404 404"),
    Case("GET", "/api/v1/therapists/{missing}", every(404)),
    Case("POST", "/api/v1/therapists/{ther_a}/feed-token", "201 201 201 201 404"),
    Case("POST", "/api/v1/therapists/{ther_b}/feed-token", "201 201 404 404 201"),
    # C also works in Seattle: the Miami desk may not hold a window onto that calendar.
    Case("POST", "/api/v1/therapists/{ther_c}/feed-token", "201 201 403 404 404"),
    Case("POST", "/api/v1/therapists/{missing}/feed-token", every(404)),
    # Clients.
    Case("POST", "/api/v1/clients", "201 201 201 403 403", _new_client("miami", "+13055550177")),
    Case("POST", "/api/v1/clients", "201 201 403 403 403", _new_client("seattle", "+12065550177")),
    Case("GET", "/api/v1/clients/{client_m}", "200 200 200 200 404"),
    Case("GET", "/api/v1/clients/{client_s}", "200 200 404 404 200"),
    Case("GET", "/api/v1/clients/{missing}", every(404)),
    Case("PATCH", "/api/v1/clients/{client_m}", "200 200 200 403 404", {"phone": "+13055550178"}),
    Case("PATCH", "/api/v1/clients/{client_s}", "200 200 404 404 403", {"phone": "+12065550178"}),
    Case("PATCH", "/api/v1/clients/{missing}", every(404), {"phone": "+12065550178"}),
    Case("POST", "/api/v1/clients/{client_m}/feed-token", "201 201 201 403 404"),
    Case("POST", "/api/v1/clients/{client_s}/feed-token", "201 201 404 404 403"),
    Case("POST", "/api/v1/clients/{missing}/feed-token", every(404)),
    Case("GET", "/api/v1/clients/{client_m}/audit", "200 403 403 403 404"),
    Case("GET", "/api/v1/clients/{client_s}/audit", "200 403 404 404 403"),
    Case("GET", "/api/v1/clients/{missing}/audit", every(404)),
    # Series.
    Case(
        "POST",
        "/api/v1/series",
        "201 201 201 403 403",
        _series("miami", "ther_a", "client_m", "14:00"),
    ),
    Case(
        "POST",
        "/api/v1/series",
        "201 201 403 403 403",
        _series("seattle", "ther_b", "client_s", "14:00"),
    ),
    # A client or therapist out of reach reads as missing: 422 naming the field, like a typo.
    Case(
        "POST",
        "/api/v1/series",
        "201 201 422 403 403",
        _series("miami", "ther_a", "client_s", "15:00"),
    ),
    Case("GET", "/api/v1/series/{series_m}", "200 200 200 200 404"),
    Case("GET", "/api/v1/series/{series_s}", "200 200 404 404 200"),
    Case("GET", "/api/v1/series/{missing}", every(404)),
    Case("PATCH", "/api/v1/series/{series_m}", "200 200 200 403 404", {"session_count": 13}),
    Case("PATCH", "/api/v1/series/{series_s}", "200 200 404 404 403", {"session_count": 13}),
    Case("PATCH", "/api/v1/series/{missing}", every(404), {"session_count": 13}),
    # Sessions: the office's list for its desk staff, a therapist's own sessions anywhere.
    Case("GET", "/api/v1/sessions?location_id=miami", every(200)),
    Case("GET", "/api/v1/sessions?location_id=seattle", "200 200 403 200 200"),
    Case("GET", "/api/v1/sessions/{next_m}", "200 200 200 200 404"),
    Case("GET", "/api/v1/sessions/{next_s}", "200 200 404 404 200"),
    Case("GET", "/api/v1/sessions/{missing}", every(404)),
    Case(
        "PATCH",
        "/api/v1/sessions/{next_m}",
        "200 200 200 403 404",
        {"starts_at_local": "{next_m_date}T12:00"},
    ),
    Case(
        "PATCH",
        "/api/v1/sessions/{next_s}",
        "200 200 404 404 403",
        {"starts_at_local": "{next_s_date}T18:00"},
    ),
    Case(
        "PATCH",
        "/api/v1/sessions/{next_m}",
        "200 200 200 403 404",
        {"status": "cancelled", "cancelled_by": "client"},
    ),
    Case("PATCH", "/api/v1/sessions/{started_m}", "200 200 200 200 404", {"status": "attended"}),
    Case("PATCH", "/api/v1/sessions/{started_s}", "200 200 404 404 200", {"status": "no_show"}),
    Case("PATCH", "/api/v1/sessions/{next_m}", "200 403 403 200 404", {"weekly_goal": "Walk"}),
    Case("PATCH", "/api/v1/sessions/{next_s}", "200 403 404 404 200", {"weekly_goal": "Walk"}),
    Case("PATCH", "/api/v1/sessions/{missing}", every(404), {"weekly_goal": "Walk"}),
    Case("GET", "/api/v1/sessions/{next_m}/messages", "200 200 200 200 404"),
    Case("GET", "/api/v1/sessions/{next_s}/messages", "200 200 404 404 200"),
    Case("GET", "/api/v1/sessions/{missing}/messages", every(404)),
    Case("GET", "/api/v1/sessions/{next_m}/review", "200 403 403 200 404"),
    Case("GET", "/api/v1/sessions/{next_s}/review", "200 403 404 404 200"),
    Case("GET", "/api/v1/sessions/{missing}/review", every(404)),
    # Inboxes: office work for desk staff; texts to no office's number for admins.
    Case("GET", "/api/v1/inbox", "200 200 200 403 403"),
    Case("GET", "/api/v1/inbox?location_id=seattle", "200 200 403 403 403"),
    Case("GET", "/api/v1/inbox/{item_m_goal}", "200 200 200 404 404"),
    Case("GET", "/api/v1/inbox/{item_s}", "200 200 404 404 404"),
    Case("GET", "/api/v1/inbox/{item_unrouted}", "200 404 404 404 404"),
    Case("GET", "/api/v1/inbox/{missing}", every(404)),
    Case("PATCH", "/api/v1/inbox/{item_m_goal}", "200 200 200 404 404", {"status": "resolved"}),
    Case("PATCH", "/api/v1/inbox/{item_s}", "200 200 404 404 404", {"status": "resolved"}),
    Case("PATCH", "/api/v1/inbox/{item_unrouted}", "200 404 404 404 404", {"status": "resolved"}),
    Case("PATCH", "/api/v1/inbox/{missing}", every(404), {"status": "resolved"}),
    # Measures, alerts, the course view: clinical, the treating therapist's and admins'.
    Case(
        "POST",
        "/api/v1/sessions/{started_m}/measures",
        "201 403 403 201 404",
        {"instrument": "gad7", "answers": [0, 1, 0, 1, 0, 0, 0]},
    ),
    Case(
        "POST",
        "/api/v1/sessions/{started_s}/measures",
        "201 403 404 404 201",
        {"instrument": "gad7", "answers": [0, 1, 0, 1, 0, 0, 0]},
    ),
    Case("POST", "/api/v1/sessions/{missing}/measures", every(404), {"instrument": "gad7"}),
    Case("GET", "/api/v1/series/{series_m}/measures", "200 403 403 200 404"),
    Case("GET", "/api/v1/series/{series_s}/measures", "200 403 404 404 200"),
    Case("GET", "/api/v1/series/{missing}/measures", every(404)),
    Case("GET", "/api/v1/series/{series_m}/course", "200 403 403 200 404"),
    Case("GET", "/api/v1/series/{series_s}/course", "200 403 404 404 200"),
    Case("GET", "/api/v1/series/{missing}/course", every(404)),
    Case("PATCH", "/api/v1/series/{series_m}", "200 403 403 200 404", {"measure_gad7": True}),
    Case("GET", "/api/v1/alerts", "200 403 403 200 200"),
    Case(
        "POST",
        "/api/v1/alerts/{alert_m}/acknowledge",
        "200 403 403 200 404",
        {"note": "Called; safety plan reviewed."},
    ),
    Case("POST", "/api/v1/alerts/{missing}/acknowledge", every(404), {"note": "Called."}),
    Case("GET", "/api/v1/reports/courses", "200 403 403 403 403"),
    # Issue 11: help with finding a time, merging records, the inbox's counts and replies.
    Case(
        "POST",
        "/api/v1/series/suggestions",
        "200 200 200 403 403",
        _series("miami", "ther_a", "client_m", "14:00"),
    ),
    Case(
        "POST",
        "/api/v1/series/suggestions",
        "200 200 403 403 403",
        _series("seattle", "ther_b", "client_s", "14:00"),
    ),
    Case(
        "POST",
        "/api/v1/sessions/{next_m}/preview",
        "200 200 200 403 404",
        {"starts_at_local": "{next_m_date}T12:00"},
    ),
    Case(
        "POST",
        "/api/v1/sessions/{next_s}/preview",
        "200 200 404 404 403",
        {"starts_at_local": "{next_s_date}T18:00"},
    ),
    Case("POST", "/api/v1/sessions/{missing}/preview", every(404), {"room": None}),
    Case(
        "POST",
        "/api/v1/clients/{client_m}/merge",
        "200 403 403 403 404",
        {"from_client_id": "{client_s}"},
    ),
    Case("POST", "/api/v1/clients/{missing}/merge", every(404), {"from_client_id": "{client_s}"}),
    Case("GET", "/api/v1/inbox/counts", "200 200 200 403 403"),
    Case("POST", "/api/v1/inbox/{item_m_goal}/replies", "201 201 201 404 404", {"text": "OK"}),
    Case("POST", "/api/v1/inbox/{item_s}/replies", "201 201 404 404 404", {"text": "OK"}),
    # A text that reached no office's number has no number to answer from.
    Case("POST", "/api/v1/inbox/{item_unrouted}/replies", "422 404 404 404 404", {"text": "OK"}),
    Case("POST", "/api/v1/inbox/{missing}/replies", every(404), {"text": "OK"}),
    Case("GET", "/api/v1/openapi.json", every(200)),
]


def _book(office: str, therapist: str, client: str, at: str) -> dict[str, Any]:
    return {
        "client_mode": "existing",
        "client_id": f"{{{client}}}",
        "location_id": office,
        "therapist_id": f"{{{therapist}}}",
        "first_session_date": "{first_date}",
        "start_time": at,
        "session_count": "12",
        "duration_minutes": "50",
        "problem_area": "grief",
        "room": "",
    }


PAGES = [
    Case("GET", "/", every(302)),
    Case("GET", "/signin", every(302)),  # already signed in: on to the landing page
    Case("POST", "/signin", every(400), {}),
    Case("GET", "/static/favicon.svg", every(200)),
    Case("GET", "/healthz", every(200)),
    # Readiness needs no sign-in; no worker beats in this world, so it is not ready.
    Case("GET", "/readyz", every(503)),
    # Metrics answer loopback (the test client is 127.0.0.1) or METRICS_TOKEN; see test_metrics.
    Case("GET", "/metrics", every(200)),
    # Offices: the desk's schedule and inbox, per office.
    Case("GET", "/offices?office=miami", "302 302 302 403 403"),
    Case("GET", "/offices?office=seattle", "302 302 403 403 403"),
    Case("GET", "/offices?office=atlantis", every(404)),
    Case("GET", "/offices/miami/day", "200 200 200 403 403"),
    Case("GET", "/offices/seattle/day", "200 200 403 403 403"),
    Case("GET", "/offices/atlantis/day", every(404)),
    Case("GET", "/offices/miami/week", "200 200 200 403 403"),
    Case("GET", "/offices/seattle/week", "200 200 403 403 403"),
    Case("GET", "/offices/atlantis/week", every(404)),
    Case("GET", "/offices/miami/inbox", "200 200 200 403 403"),
    Case("GET", "/offices/seattle/inbox", "200 200 403 403 403"),
    Case("GET", "/offices/atlantis/inbox", every(404)),
    # One inbox across the offices a user works; ?office= narrows it to one.
    Case("GET", "/inbox", "200 200 200 403 403"),
    Case("GET", "/inbox?office=miami", "200 200 200 403 403"),
    Case("GET", "/inbox?office=seattle", "200 200 403 403 403"),
    Case("GET", "/inbox?office=atlantis", "404 404 404 403 403"),
    # Booking.
    Case("GET", "/book", "200 200 200 403 403"),
    Case("POST", "/book", "302 302 302 403 403", _book("miami", "ther_a", "client_m", "14:00")),
    Case("POST", "/book", "302 302 403 403 403", _book("seattle", "ther_b", "client_s", "14:00")),
    Case(
        "POST",
        "/book/preview",
        "200 200 200 403 403",
        _book("miami", "ther_a", "client_m", "14:00"),
    ),
    Case(
        "POST",
        "/book/preview",
        "200 200 403 403 403",
        _book("seattle", "ther_b", "client_s", "14:00"),
    ),
    Case("GET", "/book/clients?q=Client", "200 200 200 403 403"),
    Case("GET", "/book/phone?phone=2065550100", "200 200 200 403 403"),
    # Clients.
    Case("GET", "/clients?q=Client", "200 200 200 403 403"),
    Case("GET", "/clients/{client_m}", "200 200 200 200 404"),
    Case("GET", "/clients/{client_s}", "200 200 404 404 200"),
    Case("GET", "/clients/{missing}", every(404)),
    Case("POST", "/clients/{client_m}", "302 302 302 403 404", {"phone": "+13055550178"}),
    Case("POST", "/clients/{client_s}", "302 302 404 404 403", {"phone": "+12065550178"}),
    Case("POST", "/clients/{missing}", every(404), {"phone": "+12065550178"}),
    Case("POST", "/clients/{client_m}/feed", "302 302 302 403 404", {}),
    Case("POST", "/clients/{client_s}/feed", "302 302 404 404 403", {}),
    Case("POST", "/clients/{missing}/feed", every(404), {}),
    # Therapists.
    Case("GET", "/therapists", "200 200 200 403 403"),
    Case("GET", "/therapists/{ther_a}", "200 200 200 200 404"),
    Case("GET", "/therapists/{ther_b}", "200 200 404 404 200"),
    Case("GET", "/therapists/{ther_c}", "200 200 200 404 404"),
    Case("GET", "/therapists/{missing}", every(404)),
    Case("POST", "/therapists/{ther_a}/feed", "302 302 302 302 404", {}),
    Case("POST", "/therapists/{ther_c}/feed", "302 302 403 404 404", {}),
    Case("POST", "/therapists/{missing}/feed", every(404), {}),
    # Series and sessions.
    Case("GET", "/series/{series_m}", "200 200 200 200 404"),
    Case("GET", "/series/{series_s}", "200 200 404 404 200"),
    Case("GET", "/series/{missing}", every(404)),
    Case("POST", "/series/{series_m}/renegotiate", "302 302 302 403 404", {"session_count": "13"}),
    Case("POST", "/series/{series_s}/renegotiate", "302 302 404 404 403", {"session_count": "13"}),
    Case("POST", "/series/{missing}/renegotiate", every(404), {"session_count": "13"}),
    Case(
        "POST",
        "/series/{series_m}/cancel-rest",
        "302 302 302 403 404",
        {"cancelled_by": "client", "confirm": "y"},
    ),
    Case(
        "POST",
        "/series/{missing}/cancel-rest",
        every(404),
        {"cancelled_by": "client", "confirm": "y"},
    ),
    Case("GET", "/sessions/{next_m}", "200 200 200 200 404"),
    Case("GET", "/sessions/{next_s}", "200 200 404 404 200"),
    Case("GET", "/sessions/{missing}", every(404)),
    Case(
        "POST",
        "/sessions/{next_m}/reschedule",
        "302 302 302 403 404",
        {"new_date": "{next_m_date}", "new_time": "12:00"},
    ),
    Case(
        "POST",
        "/sessions/{missing}/reschedule",
        every(404),
        {"new_date": "{next_m_date}", "new_time": "12:00"},
    ),
    Case("POST", "/sessions/{next_m}/cancel", "302 302 302 403 404", {"cancelled_by": "client"}),
    Case("POST", "/sessions/{next_s}/cancel", "302 302 404 404 403", {"cancelled_by": "client"}),
    Case("POST", "/sessions/{missing}/cancel", every(404), {"cancelled_by": "client"}),
    Case("POST", "/sessions/{started_m}/attendance", "302 302 302 302 404", {"status": "attended"}),
    Case("POST", "/sessions/{started_s}/attendance", "302 302 404 404 302", {"status": "attended"}),
    Case("POST", "/sessions/{missing}/attendance", every(404), {"status": "attended"}),
    Case("POST", "/sessions/{started_m}/attendance", "302 302 302 302 404", {"status": "no_show"}),
    Case(
        "POST",
        "/sessions/{started_m}/attendance",
        "302 302 302 302 404",
        {"status": "late_cancelled"},
    ),
    # Undo (on the day it was recorded; an unmarked session is refused with a message).
    Case("POST", "/sessions/{started_m}/attendance/undo", "302 302 302 302 404", {}),
    Case("POST", "/sessions/{started_s}/attendance/undo", "302 302 404 404 302", {}),
    Case("POST", "/sessions/{missing}/attendance/undo", every(404), {}),
    Case("POST", "/sessions/{next_m}/goal", "302 403 403 302 404", {"weekly_goal": "Walk"}),
    Case("POST", "/sessions/{next_s}/goal", "302 403 404 404 302", {"weekly_goal": "Walk"}),
    Case("POST", "/sessions/{missing}/goal", every(404), {"weekly_goal": "Walk"}),
    # Inbox items.
    Case("POST", "/inbox/{item_m_goal}/resolve", "302 302 302 404 404", {}),
    Case("POST", "/inbox/{item_s}/resolve", "302 302 404 404 404", {}),
    Case("POST", "/inbox/{item_unrouted}/resolve", "302 404 404 404 404", {}),
    Case("POST", "/inbox/{missing}/resolve", every(404), {}),
    # Replies by text: whoever works the item's inbox (the reply itself is checked by the service).
    Case("POST", "/inbox/{item_s}/reply", "302 302 404 404 404", {}),
    Case("POST", "/inbox/{item_m_unknown}/reply", "302 302 302 404 404", {}),
    Case("POST", "/inbox/{item_unrouted}/reply", "302 404 404 404 404", {}),
    Case("POST", "/inbox/{missing}/reply", every(404), {}),
    # Feeds answer to their secret token, whoever asks; webhooks to Twilio's signature.
    Case("GET", "/feeds/therapists/{feed_token_a}.ics", every(200)),
    Case("GET", "/feeds/locations/not-a-real-token-0123456789.ics", every(404)),
    Case("GET", "/feeds/clients/not-a-real-token-0123456789.ics", every(404)),
    Case("POST", "/webhooks/twilio/inbound", every(403), {"Body": "C"}),
    Case("POST", "/webhooks/twilio/status", every(403), {"MessageStatus": "sent"}),
    # The course: clinical pages; the report for admins; the client's form answers to its token.
    Case("GET", "/series/{series_m}/course", "200 403 403 200 404"),
    Case("GET", "/series/{series_s}/course", "200 403 404 404 200"),
    Case("GET", "/series/{missing}/course", every(404)),
    Case("POST", "/series/{series_m}/measure-plan", "302 403 403 302 404", {}),
    Case("POST", "/series/{missing}/measure-plan", every(404), {}),
    Case("GET", "/alerts", "200 403 403 200 200"),
    Case("POST", "/alerts/{alert_m}/acknowledge", "302 403 403 302 404", {}),
    Case("POST", "/alerts/{missing}/acknowledge", every(404), {}),
    Case("GET", "/reports/courses", "200 403 403 403 403"),
    Case("GET", "/reports/courses.csv", "200 403 403 403 403"),
    Case("GET", "/m/not-a-real-token-0123456789", every(404)),
    Case("POST", "/m/not-a-real-token-0123456789", every(404), {}),
    Case("GET", "/m/thanks", every(200)),
    Case("POST", "/sessions/{missing}/measures/handover", every(404), {}),
    # Late: a handover that goes through signs the browser out (the device is the client's).
    Case("POST", "/sessions/{started_m}/measures/handover", "302 302 302 302 404", {}),
    # Last: it ends the browser sessions.
    Case("POST", "/signout", every(302), {}),
]


@contextmanager
def _rolled_back(connection: Any) -> Iterator[None]:
    """Whatever the request writes is undone, so the next user meets the same data."""
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()


def _fill(world: World, value: Any) -> Any:
    if isinstance(value, str):
        filled = world.fill(value)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    return value


def _call(browser: FlaskClient, case: Case, world: World, token: str | None) -> int:
    path = world.fill(case.path)
    body = {k: _fill(world, v) for k, v in case.body.items()} if case.body is not None else None
    if token is not None:  # the API: JSON with a bearer token
        headers = {"Authorization": f"Bearer {token}"}
        response = browser.open(path, method=case.method, json=body, headers=headers)
    else:  # pages: a signed-in browser posting forms
        response = browser.open(path, method=case.method, data=body)
    response.close()  # static files are streamed from an open file
    return response.status_code


def _walk(
    cases: list[Case], world: World, connection: Any, browsers: dict[str, FlaskClient], api: bool
) -> list[str]:
    wrong = []
    for case in cases:
        for user, expected in case.statuses().items():
            with _rolled_back(connection):
                token = world.tokens[user] if api else None
                got = _call(browsers[user], case, world, token)
            if got != expected:
                wrong.append(f"{case.method} {case.path} as {user}: expected {expected}, got {got}")
    return wrong


def test_every_api_route_answers_each_user_as_the_table_says(
    app: Flask, world: World, connection: Any
) -> None:
    browsers = {user: app.test_client() for user in USERS}
    wrong = _walk(API, world, connection, browsers, api=True)
    assert not wrong, "\n".join(wrong)


def test_every_page_answers_each_user_as_the_table_says(
    app: Flask, world: World, connection: Any
) -> None:
    browsers = page_clients(app, world)
    wrong = _walk(PAGES, world, connection, browsers, api=False)
    assert not wrong, "\n".join(wrong)


def test_the_table_covers_every_route(app: Flask) -> None:
    """A route without a row in API or PAGES fails here: decide who may use it first."""
    adapter = app.url_map.bind("localhost")
    covered = set()
    for case in [*API, *PAGES]:
        path = case.path.split("?")[0].format_map(_Sample())
        endpoint, _ = adapter.match(path, method=case.method)
        covered.add((endpoint, case.method))
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    missing = sorted(routes - covered)
    assert not missing, f"routes with no row in the access table: {missing}"


class _Sample(dict[str, str]):
    """Stands in for the world's ids when only the route a path matches matters."""

    def __missing__(self, key: str) -> str:
        return "1" if not key.startswith("feed_token") else "token"
