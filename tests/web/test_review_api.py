"""GET /sessions/{id}/review: last week's goal, prompts since, replies, ratings, confirmation."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from scheduler.services import inbound
from scheduler.services.inbound import InboundSms
from tests import factories
from tests.web.conftest import Api, make_user_token
from tests.web.inbound_support import SEATTLE_SMS, new_sid, sent_goal_prompt


@pytest.fixture
def series(db, ctx):
    s = factories.series(db, ctx)
    db.commit()
    return s


def _sessions(series):
    return sorted(series.sessions, key=lambda s: s.starts_at)


def _text(db, ctx, body: str, phone: str, at: datetime) -> inbound.Receipt:
    """A text received at `at` (the service with its clock set, as the webhook calls it)."""
    receipt = inbound.receive(
        db, replace(ctx, clock=lambda: at), InboundSms(new_sid(), phone, SEATTLE_SMS, body)
    )
    db.commit()
    return receipt


def test_the_review_shows_the_goal_prompts_replies_ratings_and_confirmation(api, db, ctx, series):
    s1, s2, s3 = _sessions(series)[:3]
    phone = series.client.phone
    r = api.patch(f"/sessions/{s1.id}", {"weekly_goal": "Call my sister about Sunday"})
    assert r.status_code == 200, r.get_json()
    prompt = sent_goal_prompt(db, series.client, s1, sent_at=s1.starts_at + timedelta(days=2))
    after = prompt.sent_at
    assert _text(db, ctx, "4", phone, after + timedelta(hours=1)).outcome == "rating"
    _text(db, ctx, "We talked on Sunday 🙂", phone, after + timedelta(hours=2))
    assert _text(db, ctx, "C", phone, after + timedelta(hours=3)).outcome == "confirmed"
    _text(db, ctx, "HELP", phone, after + timedelta(hours=4))  # not a reply to the prompt
    _text(db, ctx, "late text", phone, s2.starts_at + timedelta(hours=2))  # next week's

    review = api.get(f"/sessions/{s2.id}/review")
    assert review.status_code == 200, review.get_json()
    out = review.get_json()
    assert out["goal"] == "Call my sister about Sunday"
    assert out["previous_session"]["id"] == s1.id
    assert [p["id"] for p in out["prompts"]] == [prompt.id]
    assert [(m["text"], m["rating"]) for m in out["replies"]] == [
        ("4", 4),
        ("We talked on Sunday 🙂", None),
    ]
    assert [x["rating"] for x in out["ratings"]] == [4]
    assert out["latest_rating"] == 4
    assert out["confirmed"] is True
    assert out["session"]["id"] == s2.id
    assert out["week_start"].endswith("-08:00")  # Seattle time, like the rest of the API

    following = api.get(f"/sessions/{s3.id}/review").get_json()
    assert [m["text"] for m in following["replies"]] == ["late text"]
    assert following["goal"] is None and following["confirmed"] is False


def test_the_first_session_has_no_previous_goal(api, series):
    first = _sessions(series)[0]
    out = api.get(f"/sessions/{first.id}/review").get_json()
    assert out["previous_session"] is None and out["goal"] is None
    assert out["prompts"] == [] and out["replies"] == [] and out["latest_rating"] is None


def test_a_cancelled_week_is_skipped_back_to_the_session_that_set_the_goal(api, db, series):
    s1, s2, s3 = _sessions(series)[:3]
    api.patch(f"/sessions/{s1.id}", {"weekly_goal": "Join the Tuesday walking group"})
    r = api.patch(f"/sessions/{s2.id}", {"status": "cancelled", "cancelled_by": "client"})
    assert r.status_code == 200, r.get_json()
    out = api.get(f"/sessions/{s3.id}/review").get_json()
    assert out["previous_session"]["id"] == s1.id
    assert out["goal"] == "Join the Tuesday walking group"


def test_the_sessions_therapist_may_read_the_review_and_others_may_not(client, db, ctx, series):
    second = _sessions(series)[1]
    linked = Api(
        client,
        make_user_token(db, "own@test.invalid", "therapist", therapist_id=series.therapist_id),
    )
    other = factories.therapist(db, ctx, "seattle")
    db.commit()
    stranger = Api(client, make_user_token(db, other.email, "therapist", therapist_id=other.id))
    desk = Api(client, make_user_token(db, "d@test.invalid", "front_desk", office_ids=["dallas"]))
    assert linked.get(f"/sessions/{second.id}/review").status_code == 200
    # Another therapist's session is out of reach (404); the Dallas desk does not reach a
    # Seattle session either. A desk that reaches it is refused the clinical review (403).
    assert stranger.get(f"/sessions/{second.id}/review").status_code == 404
    assert desk.get(f"/sessions/{second.id}/review").status_code == 404
    seattle_desk = Api(client, make_user_token(db, "s@test.invalid", "front_desk"))
    assert seattle_desk.get(f"/sessions/{second.id}/review").status_code == 403


def test_an_unknown_session_is_404(api):
    assert api.get("/sessions/987654/review").status_code == 404
