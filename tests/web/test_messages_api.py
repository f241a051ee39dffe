"""GET /api/v1/sessions/{id}/messages: what was planned or sent about one session, and why."""

from __future__ import annotations

from tests import factories
from tests.web.conftest import make_user_token


def test_a_booked_session_lists_its_planned_texts(api, db, ctx):
    series = factories.series(db, ctx, office="seattle", count=12)
    db.commit()
    first = series.sessions[0]
    response = api.get(f"/sessions/{first.id}/messages")
    assert response.status_code == 200
    body = response.get_json()
    kinds = [m["kind"] for m in body]
    assert sorted(kinds) == [
        "booking_confirmation",
        "goal_prompt",
        "measure_link",  # visit 1 is a questionnaire point of the measure plan
        "reminder_24h",
        "reminder_2h",
    ]
    for m in body:
        assert set(m) >= {"id", "kind", "send_at", "status", "reason", "provider_sid", "error"}
        assert m["status"] in ("pending", "suppressed")
        assert m["provider_sid"] is None
    last = series.sessions[-1]
    assert "closing" in [m["kind"] for m in api.get(f"/sessions/{last.id}/messages").get_json()]


def test_suppressed_texts_carry_their_reason(api, db, ctx):
    c = factories.client(db, ctx, sms_consent=False, goal_prompt_consent=False)
    series = factories.series(db, ctx, client_obj=c)
    db.commit()
    body = api.get(f"/sessions/{series.sessions[0].id}/messages").get_json()
    assert body and {(m["status"], m["reason"]) for m in body} == {
        ("suppressed", "no sms_reminders consent")
    }


def test_unknown_session_and_other_therapists_session(api, client, db, ctx):
    assert api.get("/sessions/999999/messages").status_code == 404
    series = factories.series(db, ctx)
    other = factories.therapist(db, ctx, "seattle")
    token = make_user_token(db, "t@test.invalid", "therapist", therapist_id=other.id)
    response = client.get(
        f"/api/v1/sessions/{series.sessions[0].id}/messages",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404  # another therapist's session: out of reach
