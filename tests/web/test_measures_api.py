"""Measures through the API and the safe path: scoring, the item 9 alert for the treating
therapist, the admins' inbox item, no text, acknowledgement with a note, and who is refused."""

from __future__ import annotations

from sqlalchemy import func, select

from scheduler.db.models import Alert, AuditEntry, MeasureResponse, OutboundMessage
from scheduler.db.models.inbound import InboxItem
from tests.web.course_support import book, clock, practice
from tests.web.pages_support import sign_in

__all__ = ["clock", "practice"]  # fixtures

CALM = [0, 1, 0, 1, 0, 0, 1, 0, 0]  # 3: minimal, item 9 "Not at all"
RISK = [2, 2, 3, 2, 1, 2, 1, 1, 1]  # 15: moderately severe, item 9 "Several days"


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def first_session(p):
    course = book(p)
    return course, course["sessions"][0]["id"]


def test_therapist_records_a_phq9_and_gets_score_and_band(practice, db):
    course, sid = first_session(practice)
    assert practice.api.get(f"/sessions/{sid}").json["measure_due"] is True
    r = practice.therapist_api.post(
        f"/sessions/{sid}/measures", {"instrument": "phq9", "answers": CALM}
    )
    assert r.status_code == 201, r.json
    assert (r.json["score"], r.json["severity"], r.json["alert"]) == (3, "minimal", False)
    assert practice.api.get(f"/sessions/{sid}").json["measure_due"] is False
    listed = practice.therapist_api.get(f"/series/{course['id']}/measures").json
    assert listed["plan"]["session_numbers"] == [1, 4, 8, 12]
    assert [(m["number"], m["score"], m["severity"]) for m in listed["measures"]] == [
        (1, 3, "minimal")
    ]
    assert listed["severity_bands"]["phq9"][3] == {
        "from": 15,
        "to": 19,
        "severity": "moderately severe",
    }
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "measure.recorded"))
    assert entry.series_id is None and "score" not in entry.details  # the desk reads series trails


def test_gad7_is_scored_on_its_own_bands(practice):
    _, sid = first_session(practice)
    r = practice.therapist_api.post(
        f"/sessions/{sid}/measures",
        {"instrument": "gad7", "answers": [3, 3, 3, 3, 3, 0, 0], "difficulty": 2},
    )
    assert (r.status_code, r.json["score"], r.json["severity"]) == (201, 15, "severe")


def test_item_9_raises_an_alert_at_once_and_no_text(practice, db):
    _course, sid = first_session(practice)
    texts_before = count(db, OutboundMessage)
    r = practice.therapist_api.post(
        f"/sessions/{sid}/measures", {"instrument": "phq9", "answers": RISK}
    )
    assert r.status_code == 201, r.json
    assert (r.json["score"], r.json["severity"], r.json["alert"]) == (15, "moderately severe", True)
    assert count(db, OutboundMessage) == texts_before  # nothing is texted about it
    alerts = practice.therapist_api.get("/alerts").json
    assert [(a["session_id"], a["level"], a["measure"]["risk_item"]) for a in alerts] == [
        (sid, "urgent", 1)
    ]
    assert practice.api.get("/alerts").json[0]["id"] == alerts[0]["id"]  # admins see all
    assert practice.other_therapist_api.get("/alerts").json == []
    # The admins' inbox has it; the office's front desk never sees it.
    admin_items = practice.api.get("/inbox?location_id=seattle").json
    item = next(i for i in admin_items if i["kind"] == "measure_alert")
    assert item["admins_only"] is True and "Urgent" in item["summary"]
    assert str(RISK) not in item["summary"] and "15" not in item["summary"]
    desk_items = practice.desk_api.get("/inbox?location_id=seattle").json
    assert all(i["kind"] != "measure_alert" for i in desk_items)
    assert (
        practice.desk_api.patch(f"/inbox/{item['id']}", {"status": "resolved"}).status_code == 404
    )
    raised = db.scalar(select(AuditEntry).where(AuditEntry.action == "alert.raised"))
    assert raised is not None and raised.series_id is None


def test_acknowledging_needs_a_note_and_is_audited(practice, db):
    _, sid = first_session(practice)
    practice.therapist_api.post(
        f"/sessions/{sid}/measures", {"instrument": "phq9", "answers": RISK}
    )
    alert_id = practice.therapist_api.get("/alerts").json[0]["id"]
    assert (
        practice.desk_api.post(f"/alerts/{alert_id}/acknowledge", {"note": "x" * 10}).status_code
        == 403
    )
    assert (
        practice.other_therapist_api.post(
            f"/alerts/{alert_id}/acknowledge", {"note": "x" * 10}
        ).status_code
        == 404
    )
    missing = practice.therapist_api.post(f"/alerts/{alert_id}/acknowledge", {})
    assert missing.status_code == 422 and "note" in missing.json["fields"]
    r = practice.therapist_api.post(
        f"/alerts/{alert_id}/acknowledge", {"note": "Called the client; safety plan reviewed."}
    )
    assert r.status_code == 200, r.json
    assert (
        r.json["status"] == "acknowledged" and r.json["acknowledged_by"] == "ada.login@test.invalid"
    )
    assert practice.therapist_api.get("/alerts").json == []
    again = practice.therapist_api.post(f"/alerts/{alert_id}/acknowledge", {"note": "twice over"})
    assert again.status_code == 422
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "alert.acknowledged"))
    assert entry.actor == "ada.login@test.invalid" and "safety plan" in entry.details["note"]
    item = db.scalar(select(InboxItem).where(InboxItem.kind == "measure_alert"))
    assert item.status == "resolved" and "safety plan" in item.note


def test_desk_and_other_therapists_are_refused_and_nothing_is_written(practice, db):
    course, sid = first_session(practice)
    body = {"instrument": "phq9", "answers": RISK}
    assert practice.desk_api.post(f"/sessions/{sid}/measures", body).status_code == 403
    assert practice.other_therapist_api.post(f"/sessions/{sid}/measures", body).status_code == 404
    assert practice.desk_api.get(f"/series/{course['id']}/measures").status_code == 403
    assert practice.desk_api.get(f"/series/{course['id']}/course").status_code == 403
    assert practice.other_therapist_api.get(f"/series/{course['id']}/course").status_code == 404
    assert practice.desk_api.get("/alerts").status_code == 403
    assert count(db, MeasureResponse) == 0 and count(db, Alert) == 0
    # What the desk may know: that a measure is due, and not the plan behind it.
    desk_series = practice.desk_api.get(f"/series/{course['id']}").json
    assert desk_series["sessions"][0]["measure_due"] is True and "measure_plan" not in desk_series


def test_bad_answers_and_repeats(practice, db):
    course, sid = first_session(practice)
    path = f"/sessions/{sid}/measures"
    short = practice.therapist_api.post(path, {"instrument": "phq9", "answers": [0] * 8})
    assert short.status_code == 422 and "answers" in short.json["fields"]
    high = practice.therapist_api.post(
        path, {"instrument": "phq9", "answers": [0, 0, 0, 4, 0, 0, 0, 0, 0]}
    )
    assert high.status_code == 422 and "answers.3" in high.json["fields"]
    unknown = practice.therapist_api.post(path, {"instrument": "phq2", "answers": [0, 0]})
    assert unknown.status_code == 422 and "instrument" in unknown.json["fields"]
    assert count(db, MeasureResponse) == 0
    assert (
        practice.therapist_api.post(path, {"instrument": "phq9", "answers": CALM}).status_code
        == 201
    )
    repeat = practice.therapist_api.post(path, {"instrument": "phq9", "answers": CALM})
    assert repeat.status_code == 409 and repeat.json["conflicts"][0]["reason"] == "already_recorded"
    later = course["sessions"][9]["id"]
    far = practice.therapist_api.post(
        f"/sessions/{later}/measures", {"instrument": "phq9", "answers": CALM}
    )
    assert far.status_code == 422 and "session_id" in far.json["fields"]


def test_clinicians_change_the_measure_plan(practice):
    course, _ = first_session(practice)
    path = f"/series/{course['id']}"
    assert practice.desk_api.patch(path, {"measure_gad7": True}).status_code == 403
    r = practice.therapist_api.patch(
        path, {"measure_gad7": True, "measure_schedule": "every_session"}
    )
    assert r.status_code == 200, r.json
    assert r.json["measure_plan"] == {"schedule": "every_session", "gad7": True}
    both = practice.therapist_api.patch(path, {"measure_gad7": False, "session_count": 14})
    assert both.status_code == 422


def test_banner_on_every_page_the_therapist_opens_until_acknowledged(practice, client):
    _, sid = first_session(practice)
    practice.therapist_api.post(
        f"/sessions/{sid}/measures", {"instrument": "phq9", "answers": RISK}
    )
    sign_in(client, "ada.login@test.invalid")
    for path in (f"/therapists/{practice.therapist['id']}", f"/sessions/{sid}"):
        page = client.get(path).get_data(as_text=True)
        assert "urgent-banner" in page and "1 open alert" in page, path
    alert_id = practice.therapist_api.get("/alerts").json[0]["id"]
    practice.therapist_api.post(f"/alerts/{alert_id}/acknowledge", {"note": "Seen and called."})
    assert "urgent-banner" not in client.get(f"/sessions/{sid}").get_data(as_text=True)


def test_desk_pages_carry_no_banner(practice, client):
    _, sid = first_session(practice)
    practice.therapist_api.post(
        f"/sessions/{sid}/measures", {"instrument": "phq9", "answers": RISK}
    )
    sign_in(client, "desk@test.invalid")
    page = client.get(f"/sessions/{sid}").get_data(as_text=True)
    assert "urgent-banner" not in page and "alert" not in page.lower().replace('role="alert"', "")


def test_two_open_alerts_in_one_course_each_reach_the_admins(practice, clock, db):
    course, sid = first_session(practice)
    later = course["sessions"][3]
    practice.therapist_api.post(
        f"/sessions/{sid}/measures", {"instrument": "phq9", "answers": RISK}
    )
    from datetime import datetime, timedelta

    clock.at = datetime.fromisoformat(later["starts_at"]) - timedelta(hours=1)
    r = practice.therapist_api.post(
        f"/sessions/{later['id']}/measures", {"instrument": "phq9", "answers": RISK}
    )
    assert r.status_code == 201 and r.json["alert"] is True
    assert len(practice.therapist_api.get("/alerts").json) == 2
    assert count(db, InboxItem, InboxItem.kind == "measure_alert", InboxItem.status == "open") == 2
