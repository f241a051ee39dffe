"""The client's questionnaire: handed over in the office (the device is signed out and locks
after the answers), or opened from a private one-time link that expires with the session."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from scheduler.db.models import Alert, MeasureForm, MeasureResponse, OutboundMessage
from scheduler.domain import measures as domain
from scheduler.domain.ipt import CLINICAL_WORDS
from scheduler.services import measure_forms
from tests.web.course_support import book, clock, practice
from tests.web.pages_support import csrf, sign_in

__all__ = ["clock", "practice"]  # fixtures

_HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def answers(values: list[int], code: str = "phq9") -> dict[str, str]:
    return {f"{code}-{i}": str(v) for i, v in enumerate(values)}


def on_the_day(clock, session: dict) -> None:
    """Move the clock to an hour before the session (handovers happen on the day)."""
    clock.at = datetime.fromisoformat(session["starts_at"]) - timedelta(hours=1)


def hand_over(client, session_id: int, **extra: str):
    token = csrf(client, f"/sessions/{session_id}")
    return client.post(
        f"/sessions/{session_id}/measures/handover", data={"csrf_token": token, **extra}
    )


def submit(client, path: str, data: dict[str, str]):
    page = client.get(path).get_data(as_text=True)
    token = _HIDDEN.search(page)
    assert token, page
    return client.post(path, data={"csrf_token": token.group(1), **data})


def test_handover_signs_staff_out_and_shows_only_the_questions(practice, client, db, clock):
    course = book(practice)
    sid = course["sessions"][0]["id"]
    on_the_day(clock, course["sessions"][0])
    sign_in(client, "ada.login@test.invalid")
    assert "Hand this device to the client" in client.get(f"/sessions/{sid}").get_data(as_text=True)
    r = hand_over(client, sid)
    assert r.status_code == 302 and r.location.startswith("/m/")
    form_path = r.location
    # The device is no longer signed in: nothing of the staff member's is reachable.
    for path in (f"/sessions/{sid}", f"/series/{course['id']}/course", "/alerts"):
        assert client.get(path).status_code == 302, path
    page = client.get(form_path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert all(
        item.replace("\u2014", "&#8212;") in html or item in html for item in domain.PHQ9.items
    )
    assert "Quinn" not in html and "Jo " not in html and "Ada" not in html
    assert "<nav" not in html and "<a " not in html  # links lead nowhere
    text = re.sub(r"<[^>]+>", " ", html.split("<main", 1)[1]).lower()
    outside_items = text
    for item in domain.PHQ9.items:
        outside_items = outside_items.replace(item.lower(), "")
    for word in ("phq", "therap", "depress", "psych", "treatment", "diagnos"):
        assert word not in outside_items, word
    assert all(w not in "a few questions before your visit" for w in CLINICAL_WORDS)


def test_missing_answers_are_named_and_nothing_is_written(practice, client, db, clock):
    first = book(practice)["sessions"][0]
    sid = first["id"]
    on_the_day(clock, first)
    sign_in(client, "ada.login@test.invalid")
    form_path = hand_over(client, sid).location
    r = submit(client, form_path, answers([0, 1, 0, 1]))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Please answer every question" in html and 'href="#phq9-4-group"' in html
    assert 'value="1" required checked' in html  # what was chosen stays chosen
    assert count(db, MeasureResponse) == 0


def test_item_9_answer_raises_the_alert_and_the_device_shows_988_and_the_office(
    practice, client, db, clock
):
    first = book(practice)["sessions"][0]
    sid = first["id"]
    on_the_day(clock, first)
    sign_in(client, "ada.login@test.invalid")
    form_path = hand_over(client, sid).location
    texts_before = count(db, OutboundMessage)
    r = submit(client, form_path, answers([1, 1, 1, 1, 1, 1, 1, 1, 2]) | {"phq9-difficulty": "1"})
    assert r.status_code == 302 and r.location == "/m/thanks"
    thanks = client.get("/m/thanks").get_data(as_text=True)
    assert "988" in thanks and "Suicide &amp; Crisis Lifeline" in thanks
    assert "(206) 555-0190" in thanks  # the Seattle office
    measure = db.scalar(select(MeasureResponse))
    assert (measure.score, measure.severity, measure.source, measure.difficulty) == (
        10,
        "moderate",
        "office",
        1,
    )
    assert count(db, Alert) == 1
    assert count(db, OutboundMessage) == texts_before
    # Locked: the form does not open again, going back shows nothing of the answers.
    again = client.get(form_path)
    assert again.status_code == 410 and "already been answered" in again.get_data(as_text=True)
    assert "10" not in client.get("/m/thanks").get_data(as_text=True)


def test_the_confirmation_page_is_the_same_whatever_the_answers(practice, app, clock):
    course = book(practice)
    pages = []
    for session, values in zip(course["sessions"][:2], ([0] * 9, [0] * 8 + [3]), strict=True):
        on_the_day(clock, session)
        sid = session["id"]
        staff = app.test_client()
        sign_in(staff, "ada.login@test.invalid")
        form_path = hand_over(staff, sid, phq9="y").location
        assert submit(staff, form_path, answers(values)).status_code == 302
        pages.append(staff.get("/m/thanks").get_data(as_text=True))
    assert pages[0] == pages[1]


def test_desk_hands_over_only_what_is_due(practice, client, db, clock):
    course = book(practice)
    on_the_day(clock, course["sessions"][0])
    sign_in(client, "desk@test.invalid")
    not_due = course["sessions"][1]["id"]
    r = hand_over(client, not_due, phq9="y")  # the desk cannot ask for an extra one
    assert r.status_code == 302 and r.location == f"/sessions/{not_due}"
    assert count(db, MeasureForm) == 0
    r = hand_over(client, course["sessions"][0]["id"])
    assert r.status_code == 302 and r.location.startswith("/m/")


def test_link_token_is_hashed_works_once_and_expires_with_the_session(
    practice, client, db, ctx, clock
):
    course = book(practice)
    first = course["sessions"][0]
    from dataclasses import replace

    tctx = replace(ctx, clock=clock)
    token = measure_forms.issue_link(db, tctx, first["id"])
    db.commit()
    assert token is not None and len(token) >= 43  # 32 random bytes, url-safe
    stored = db.scalar(select(MeasureForm))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.purpose == "link" and stored.instruments == ["phq9"]
    assert client.get(f"/m/{token}").status_code == 200
    assert client.get(f"/m/{token[:-1]}x").status_code == 404
    # Nothing due at session 2, so no link for it.
    assert measure_forms.issue_link(db, tctx, course["sessions"][1]["id"]) is None
    # At the session's end the link stops working.
    clock.at = stored.expires_at + timedelta(seconds=1)
    gone = client.get(f"/m/{token}")
    assert gone.status_code == 410 and "expired" in gone.get_data(as_text=True)


def linked_then_moved(practice, db, ctx, clock, to: str) -> tuple[int, str]:
    """Session 1's texted link (the visit is the next day), then the visit moved to `to`."""
    from dataclasses import replace

    sid = book(practice)["sessions"][0]["id"]  # Tuesday 31 August, 17:00 in Seattle
    token = measure_forms.issue_link(db, replace(ctx, clock=clock), sid)
    db.commit()
    assert token is not None
    moved = practice.api.patch(f"/sessions/{sid}", {"starts_at_local": to})
    assert moved.status_code == 200, moved.json
    return sid, token


def test_a_link_waits_when_its_visit_moves_weeks_later(practice, client, db, ctx, clock):
    """A texted link follows its visit: moved three weeks on, the form says when it opens
    (409) instead of taking answers it cannot record, and no new link is made early."""
    from dataclasses import replace

    sid, token = linked_then_moved(practice, db, ctx, clock, "2027-09-22T12:00")
    page = client.get(f"/m/{token}")
    assert page.status_code == 409
    assert "open a week before your visit" in page.get_data(as_text=True)
    assert "Nothing to answer yet" in page.get_data(as_text=True)
    token_field = _HIDDEN.search(page.get_data(as_text=True))
    assert token_field is None  # no form to fill in
    late = client.post(f"/m/{token}", data=answers([0] * 9))
    assert late.status_code in (400, 409)  # no CSRF token to send, or not yet
    assert count(db, MeasureResponse) == 0
    assert measure_forms.issue_link(db, replace(ctx, clock=clock), sid) is None
    # A week before the visit the texted link opens, and a new one may be made.
    clock.at = datetime(2027, 9, 16, 16, 0, tzinfo=clock.at.tzinfo)
    assert client.get(f"/m/{token}").status_code == 200
    assert measure_forms.issue_link(db, replace(ctx, clock=clock), sid) is not None


def test_a_link_lives_as_long_as_its_visit_wherever_it_moves(practice, client, db, ctx, clock):
    """Moved two days later, the visit keeps its link past the old end; moved earlier, the link
    expires when the visit now ends."""
    sid, token = linked_then_moved(practice, db, ctx, clock, "2027-09-02T17:00")
    clock.at = datetime(2027, 9, 1, 2, 0, tzinfo=clock.at.tzinfo)  # the old visit is over
    assert client.get(f"/m/{token}").status_code == 200
    earlier = practice.api.patch(f"/sessions/{sid}", {"starts_at_local": "2027-09-01T12:00"})
    assert earlier.status_code == 200, earlier.json
    clock.at = datetime(2027, 9, 1, 20, 0, tzinfo=clock.at.tzinfo)  # 13:00 in Seattle
    gone = client.get(f"/m/{token}")
    assert gone.status_code == 410 and "expired" in gone.get_data(as_text=True)


def test_link_form_is_usable_once(practice, client, db, ctx, clock):
    from dataclasses import replace

    sid = book(practice)["sessions"][0]["id"]
    token = measure_forms.issue_link(db, replace(ctx, clock=clock), sid)
    db.commit()
    r = submit(client, f"/m/{token}", answers([0] * 9))
    assert r.status_code == 302
    assert db.scalar(select(MeasureResponse)).source == "link"
    assert client.get(f"/m/{token}").status_code == 410
    late = client.post(f"/m/{token}", data=answers([0] * 9))
    assert late.status_code in (400, 410)  # no CSRF token any more, or gone
    assert count(db, MeasureResponse) == 1
