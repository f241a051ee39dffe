"""What each role's reads contain: no clinical content for the desk, no existence leaks, feeds.

The world is `access_world`: therapist A treats Miami's client M, whose first session has the
weekly goal GOAL and who answered the goal prompt with GOAL_REPLY (an inbox item at Miami).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from tests.web.access_world import (
    GOAL,
    GOAL_REPLY,
    LATE_TEXT,
    World,
    apis_fixture,  # noqa: F401  (fixture `apis`)
    page_clients,
    world_fixture,  # noqa: F401  (fixture `world`)
)
from tests.web.conftest import Api


def _sessions_in(body: Any) -> list[dict[str, Any]]:
    """Every session object anywhere in a response."""
    if isinstance(body, list):
        return [s for item in body for s in _sessions_in(item)]
    if not isinstance(body, dict):
        return []
    found = [body] if "series_id" in body and "starts_at" in body else []
    for value in body.values():
        found += _sessions_in(value)
    return found


def _desk_reads(world: World, api: Api) -> list[Any]:
    today = datetime.now(UTC).date()
    window = f"from={today - timedelta(days=2)}&to={today + timedelta(days=60)}"
    paths = [
        f"/sessions/{world.started_m}",
        f"/sessions/{world.next_m}",
        f"/series/{world.series_m}",
        f"/sessions?location_id=miami&{window}",
        f"/clients/{world.client_m}",
        "/inbox",
        f"/inbox/{world.item_m_goal}",
    ]
    found = []
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, (path, response.status_code)
        found.append(response)
    changed = api.patch(f"/series/{world.series_m}", {"session_count": 13})
    assert changed.status_code == 200
    return [*found, changed]


@pytest.mark.parametrize("desk", ["desk_all", "desk_miami"])
def test_desk_api_reads_leave_clinical_fields_out(world: World, apis: dict[str, Api], desk: str):
    responses = _desk_reads(world, apis[desk])
    for response in responses:
        text = response.get_data(as_text=True)
        assert GOAL not in text and GOAL_REPLY not in text, response.request.path
        for session in _sessions_in(response.get_json()):
            assert "weekly_goal" not in session  # absent, not null
    items = {i["id"]: i for i in apis[desk].get("/inbox").get_json()}
    goal_reply, unknown = items[world.item_m_goal], items[world.item_m_unknown]
    assert goal_reply["goal_reply"] is True and "summary" not in goal_reply
    # What the desk must act on stays readable: who wrote, when, and an ordinary text's words.
    assert goal_reply["client"]["id"] == world.client_m and goal_reply["received_at"]
    assert unknown["goal_reply"] is False and unknown["summary"] == "Who is this?"
    if desk == "desk_all":
        assert items[world.item_s]["summary"] == LATE_TEXT


def test_the_treating_therapist_and_admins_get_the_clinical_fields(
    world: World, apis: dict[str, Api]
):
    for user in ("admin", "ther_a"):
        api = apis[user]
        assert api.get(f"/sessions/{world.started_m}").get_json()["weekly_goal"] == GOAL
        series = api.get(f"/series/{world.series_m}").get_json()
        assert all("weekly_goal" in s for s in series["sessions"])
        review = api.get(f"/sessions/{world.next_m}/review").get_json()
        assert review["goal"] == GOAL
        assert GOAL_REPLY in [r["text"] for r in review["replies"]]
    item = apis["admin"].get(f"/inbox/{world.item_m_goal}").get_json()
    assert item["goal_reply"] is True and item["summary"] == GOAL_REPLY


def test_desk_pages_show_no_clinical_content(app: Flask, world: World):
    browsers = page_clients(app, world)
    pages = [
        f"/sessions/{world.started_m}",
        f"/sessions/{world.next_m}",
        f"/series/{world.series_m}",
        f"/clients/{world.client_m}",
        f"/therapists/{world.ther_a}",
        "/offices/miami/inbox",
        "/offices/miami/day",
    ]
    for desk in ("desk_all", "desk_miami"):
        for path in pages:
            page = browsers[desk].get(path)
            assert page.status_code == 200, (desk, path)
            assert GOAL not in page.text and GOAL_REPLY not in page.text, (desk, path)
            for marker in ('id="goal-h"', 'id="review-h"', '<div class="review">'):
                assert marker not in page.text, (desk, path, marker)
        inbox = browsers[desk].get("/offices/miami/inbox").text
        assert "A reply to the weekly goal prompt" in inbox and "Who is this?" in inbox
    therapist = browsers["ther_a"].get(f"/sessions/{world.next_m}").text
    assert GOAL in therapist and GOAL_REPLY in therapist
    admin_inbox = browsers["admin"].get("/offices/miami/inbox").text
    assert GOAL_REPLY in admin_inbox


def test_lists_and_searches_hold_only_what_the_user_reaches(
    app: Flask, world: World, apis: dict[str, Api]
):
    browsers = page_clients(app, world)
    miami = browsers["desk_miami"]
    found = {c["id"] for c in miami.get("/book/clients?q=Client").get_json()}
    assert found == {world.client_m}
    everyone = {c["id"] for c in browsers["desk_all"].get("/book/clients?q=Client").get_json()}
    assert {world.client_m, world.client_s} <= everyone
    assert "Sam" not in miami.get("/clients?q=Client").text
    therapists = miami.get("/therapists").text
    assert "Dr. Ana Alvarez" in therapists and "Dr. Cy Cole" in therapists
    assert "Dr. Ben Brooks" not in therapists
    # Dr. Cole also works in Seattle: the Miami desk sees the page but not the calendar link.
    assert "Calendar feed" not in miami.get(f"/therapists/{world.ther_c}").text
    assert "Calendar feed" in browsers["desk_all"].get(f"/therapists/{world.ther_c}").text
    inbox = {i["id"] for i in apis["desk_miami"].get("/inbox").get_json()}
    assert inbox == {world.item_m_goal, world.item_m_unknown}
    assert world.item_unrouted not in {i["id"] for i in apis["desk_all"].get("/inbox").get_json()}
    assert world.item_unrouted in {i["id"] for i in apis["admin"].get("/inbox").get_json()}
    # A therapist lists only their own sessions, at any office.
    today = datetime.now(UTC).date()
    window = f"from={today - timedelta(days=2)}&to={today + timedelta(days=60)}"
    mine = apis["ther_b"].get(f"/sessions?location_id=seattle&{window}").get_json()
    assert mine and {s["therapist_id"] for s in mine} == {world.ther_b}
    assert apis["ther_b"].get(f"/sessions?location_id=miami&{window}").get_json() == []


def test_feed_urls_appear_only_to_those_who_may_rotate_them(world: World, apis: dict[str, Api]):
    def has_feed(user: str, path: str) -> bool:
        body = apis[user].get(path).get_json()
        return "feed_url" in body

    assert has_feed("admin", f"/clients/{world.client_m}")
    assert has_feed("desk_miami", f"/clients/{world.client_m}")
    assert not has_feed("ther_a", f"/clients/{world.client_m}")  # client feeds: the desk's
    assert has_feed("ther_a", f"/therapists/{world.ther_a}")
    assert has_feed("desk_miami", f"/therapists/{world.ther_a}")
    # Dr. Cole also works in Seattle: that calendar is not the Miami desk's to hand out.
    assert not has_feed("desk_miami", f"/therapists/{world.ther_c}")
    assert has_feed("desk_all", f"/therapists/{world.ther_c}")
    assert has_feed("desk_miami", "/locations/miami")
    assert not has_feed("desk_miami", "/locations/seattle")
    assert not has_feed("ther_a", "/locations/miami")


def _normalised(text: str, *ids: int) -> str:
    for row_id in ids:
        text = re.sub(rf"\b{row_id}\b", "ID", text)
    return text


HIDDEN_API = [
    ("get", "/clients/{id}", "client_s"),
    ("get", "/clients/{id}/audit", "client_s"),
    ("patch", "/clients/{id}", "client_s"),
    ("post", "/clients/{id}/feed-token", "client_s"),
    ("get", "/therapists/{id}", "ther_b"),
    ("post", "/therapists/{id}/feed-token", "ther_b"),
    ("get", "/series/{id}", "series_s"),
    ("patch", "/series/{id}", "series_s"),
    ("get", "/sessions/{id}", "next_s"),
    ("patch", "/sessions/{id}", "next_s"),
    ("get", "/sessions/{id}/review", "next_s"),
    ("get", "/sessions/{id}/messages", "next_s"),
    ("get", "/inbox/{id}", "item_s"),
    ("patch", "/inbox/{id}", "item_s"),
]
BODIES = {
    "/clients/{id}": {"phone": "+12065550178"},
    "/series/{id}": {"session_count": 13},
    "/sessions/{id}": {"weekly_goal": "x"},
    "/inbox/{id}": {"status": "resolved"},
}


@pytest.mark.parametrize("user", ["desk_miami", "ther_a"])
def test_a_hidden_row_answers_exactly_like_a_missing_one(
    world: World, apis: dict[str, Api], user: str
):
    api = apis[user]
    for method, template, row in HIDDEN_API:
        hidden_id = getattr(world, row)
        body = BODIES.get(template) if method == "patch" else None

        def call(
            row_id: int, method: str = method, template: str = template, body: Any = body
        ) -> Any:
            path = template.format(id=row_id)
            return api.get(path) if method == "get" else getattr(api, method)(path, body)

        hidden, missing = call(hidden_id), call(world.missing)
        assert hidden.status_code == missing.status_code == 404, (user, template)
        assert _normalised(hidden.get_data(as_text=True), hidden_id) == _normalised(
            missing.get_data(as_text=True), world.missing
        ), (user, template)
        assert hidden.headers["Content-Type"] == missing.headers["Content-Type"]


def test_a_hidden_page_reads_exactly_like_a_missing_one(app: Flask, world: World):
    miami = page_clients(app, world)["desk_miami"]
    for template, row in (
        ("/clients/{id}", "client_s"),
        ("/series/{id}", "series_s"),
        ("/sessions/{id}", "next_s"),
        ("/therapists/{id}", "ther_b"),
    ):
        hidden = miami.get(template.format(id=getattr(world, row)))
        missing = miami.get(template.format(id=world.missing))
        assert hidden.status_code == missing.status_code == 404
        assert _page(hidden.text) == _page(missing.text), template
    resolve = miami.post(f"/inbox/{world.item_s}/resolve", data={})
    assert resolve.status_code == 404
    gone = miami.post(f"/inbox/{world.missing}/resolve", data={})
    assert _page(resolve.text) == _page(gone.text)


def _page(html: str) -> str:
    """A page without its CSRF tokens, which are signed with the time they were made."""
    return re.sub(r'(name="csrf[-_]token"[^>]*?(?:content|value)=")[^"]*"', r"\1", html)
