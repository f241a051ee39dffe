"""The inbox API and consent changes through PATCH /clients/{id}."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.db.models import AuditEntry, ConsentEvent
from scheduler.db.models.messaging import OutboundMessage
from scheduler.services import consent, inbox
from tests import factories
from tests.web.conftest import Api, make_user_token
from tests.web.inbound_support import (
    DALLAS_SMS,
    counts,
    settings_with_auth_token,  # noqa: F401  (fixture `settings`)
    twilio_fixture,  # noqa: F401  (fixture `twilio`)
)

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def _item(db, office_id, kind="free_text", summary="hello"):
    item = inbox.open_item(db, office_id=office_id, kind=kind, summary=summary, at=NOW)
    db.commit()
    return item


@pytest.fixture
def desk(client, db) -> Api:
    """Front-desk staff limited to Dallas."""
    token = make_user_token(db, "desk@test.invalid", "front_desk", office_ids=["dallas"])
    return Api(client, token)


@pytest.fixture
def therapist_api(client, db, ctx) -> Api:
    t = factories.therapist(db, ctx, "seattle")
    db.commit()
    return Api(client, make_user_token(db, t.email, "therapist", therapist_id=t.id))


# --- GET /inbox ------------------------------------------------------------------------------


def test_an_office_sees_its_open_items_only(api, db):
    mine = _item(db, "seattle")
    _item(db, "dallas")
    _item(db, None, kind="unrouted")
    listed = api.get("/inbox?location_id=seattle").get_json()
    assert [i["id"] for i in listed] == [mine.id]
    assert listed[0]["created_at"].endswith("-08:00")  # shown in Seattle's zone


def test_admins_see_every_office_and_unrouted_texts_without_a_location(api, db):
    ids = {_item(db, "seattle").id, _item(db, "dallas").id, _item(db, None, kind="unrouted").id}
    assert {i["id"] for i in api.get("/inbox").get_json()} == ids


def test_status_filters_and_bad_parameters_are_named(api, db):
    item = _item(db, "seattle")
    assert api.patch(f"/inbox/{item.id}", {"status": "resolved"}).status_code == 200
    assert api.get("/inbox?location_id=seattle").get_json() == []
    resolved = api.get("/inbox?location_id=seattle&status=resolved").get_json()
    assert [i["id"] for i in resolved] == [item.id]
    assert len(api.get("/inbox?location_id=seattle&status=all").get_json()) == 1
    bad = api.get("/inbox?status=closed")
    assert bad.status_code == 422 and "status" in bad.get_json()["fields"]
    bad = api.get("/inbox?location_id=atlantis")
    assert bad.status_code == 422 and "location_id" in bad.get_json()["fields"]


def test_front_desk_sees_only_its_offices_and_never_unrouted_texts(desk, db):
    dallas = _item(db, "dallas")
    _item(db, "seattle")
    _item(db, None, kind="unrouted")
    assert [i["id"] for i in desk.get("/inbox").get_json()] == [dallas.id]
    assert desk.get("/inbox?location_id=seattle").status_code == 403


def test_therapists_do_not_read_office_inboxes(therapist_api, db):
    _item(db, "seattle")
    assert therapist_api.get("/inbox?location_id=seattle").status_code == 403


def test_a_texted_request_shows_who_sent_it(api, twilio, db, ctx):
    series = factories.series(db, ctx, office="dallas")
    db.commit()
    twilio.text("R", frm=series.client.phone, to=DALLAS_SMS)
    [shown] = api.get("/inbox?location_id=dallas").get_json()
    assert shown["kind"] == "reschedule_request"
    assert shown["client"]["id"] == series.client.id
    assert shown["from"] == series.client.phone
    assert shown["session_id"] == min(series.sessions, key=lambda s: s.starts_at).id


# --- PATCH /inbox/{id} -----------------------------------------------------------------------


def test_resolving_records_who_when_and_the_note_and_is_audited(api, db):
    item = _item(db, "seattle")
    r = api.patch(f"/inbox/{item.id}", {"status": "resolved", "note": "Called back, moved to Fri"})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["status"] == "resolved" and out["note"] == "Called back, moved to Fri"
    assert out["resolved_by"] == "admin@test.invalid" and out["resolved_at"]
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "inbox.updated"))
    assert entry is not None and entry.entity_id == str(item.id)
    assert entry.details["status"] == ["open", "resolved"]
    reopened = api.patch(f"/inbox/{item.id}", {"status": "open"}).get_json()
    assert reopened["status"] == "open" and reopened["resolved_by"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"status": "resolved", "colour": "red"}, "colour"),
        ({}, "body"),
    ],
)
def test_a_bad_patch_is_named_and_changes_nothing(api, db, body, field):
    item = _item(db, "seattle")
    before = counts(db)
    r = api.patch(f"/inbox/{item.id}", body)
    assert r.status_code == 422 and field in r.get_json()["fields"]
    assert counts(db) == before


def test_patching_another_offices_item_or_a_missing_one_is_refused(desk, api, db):
    seattle = _item(db, "seattle")
    unrouted = _item(db, None, kind="unrouted")
    # Out of the desk's reach: 404, the same answer as for an item that does not exist.
    assert desk.patch(f"/inbox/{seattle.id}", {"status": "resolved"}).status_code == 404
    assert desk.patch(f"/inbox/{unrouted.id}", {"status": "resolved"}).status_code == 404
    assert api.patch("/inbox/999999", {"status": "resolved"}).status_code == 404


# --- PATCH /clients/{id} -------------------------------------------------------------------


@pytest.fixture
def booked(db, ctx):
    series = factories.series(db, ctx)
    db.commit()
    return series


def _pending(db, client_id):
    db.expire_all()
    query = select(OutboundMessage).where(
        OutboundMessage.client_id == client_id, OutboundMessage.status == "pending"
    )
    return db.scalars(query).all()


def test_a_consent_change_keeps_its_history(api, db, booked):
    cid = booked.client.id
    r = api.patch(f"/clients/{cid}", {"goal_detail_consent": True, "consent_source": "in_person"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["goal_detail_consent"] is True
    r = api.patch(f"/clients/{cid}", {"goal_detail_consent": False})
    history = [
        (e["kind"], e["granted"], e["source"])
        for e in r.get_json()["consent_history"]
        if e["kind"] == "goal_details"
    ]
    assert history[-2:] == [("goal_details", True, "api"), ("goal_details", False, "api")]


def test_staff_cannot_undo_a_texted_opt_out_without_a_recorded_consent(api, twilio, db, booked):
    client = booked.client
    twilio.text("STOP", frm=client.phone)
    before = counts(db)
    r = api.patch(f"/clients/{client.id}", {"sms_consent": True})
    assert r.status_code == 422
    assert {"consent_source", "consent_note"} <= set(r.get_json()["fields"])
    r = api.patch(f"/clients/{client.id}", {"sms_consent": True, "consent_source": "in_person"})
    assert r.status_code == 422 and set(r.get_json()["fields"]) == {"consent_note"}
    r = api.patch(f"/clients/{client.id}", {"goal_prompt_consent": True})
    assert r.status_code == 422 and "sms_consent" in r.get_json()["fields"]
    assert counts(db) == before
    assert _pending(db, client.id) == []


def test_a_recorded_new_consent_opts_back_in_and_plans_again(api, twilio, db, booked):
    client = booked.client
    assert _pending(db, client.id)  # the planner planned reminders at booking
    twilio.text("STOP", frm=client.phone)
    assert _pending(db, client.id) == []
    body = {
        "sms_consent": True,
        "consent_source": "written_form",
        "consent_note": "Signed the texting form at the front desk on 2026-11-27",
    }
    r = api.patch(f"/clients/{client.id}", body)
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["opted_out"] is False and out["sms_consent"] is True
    assert any("START" in n for n in out["notices"])  # Twilio still blocks until START
    event = db.scalars(
        select(ConsentEvent).where(ConsentEvent.client_id == client.id).order_by(ConsentEvent.id)
    ).all()[-1]
    assert (event.granted, event.source) == (True, "api")
    assert "written_form" in (event.note or "") and "front desk" in (event.note or "")
    assert _pending(db, client.id)


def test_withdrawing_sms_consent_suppresses_what_is_pending(api, db, booked):
    assert _pending(db, booked.client.id)
    r = api.patch(f"/clients/{booked.client.id}", {"sms_consent": False})
    assert r.status_code == 200 and r.get_json()["sms_consent"] is False
    assert _pending(db, booked.client.id) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sms_consent": "yes"}, "sms_consent"),
        ({"sms_consent": True, "consent_source": "telepathy"}, "consent_source"),
        ({"phone": "not a phone"}, "phone"),
        ({"consent_note": "alone"}, "consent_source"),
        ({}, "body"),
        ({"first_name": "Jo"}, "first_name"),
    ],
)
def test_bad_client_patches_are_named_and_change_nothing(api, db, booked, body, field):
    before = counts(db)
    r = api.patch(f"/clients/{booked.client.id}", body)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["fields"]
    assert counts(db) == before


def test_a_new_phone_is_normalised_and_clears_the_undeliverable_mark(api, db, booked):
    client = booked.client
    client.phone_undeliverable_at = datetime.now(UTC) - timedelta(days=1)
    client.phone_undeliverable_reason = "21211"
    db.commit()
    r = api.patch(f"/clients/{client.id}", {"phone": "(206) 555-0177"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["phone"] == "+12065550177"
    assert r.get_json()["phone_undeliverable"] is False


def test_only_staff_of_the_clients_office_change_consents(desk, therapist_api, booked):
    # Another office's client, and another therapist's, are out of reach: 404 as if missing.
    # (A treating therapist sees the client but may not change consents: 403; see the access
    # table in test_access_table.py.)
    assert desk.patch(f"/clients/{booked.client.id}", {"sms_consent": False}).status_code == 404
    r = therapist_api.patch(f"/clients/{booked.client.id}", {"sms_consent": False})
    assert r.status_code == 404


def test_the_consent_rules_are_documented(api):
    spec = api.get("/openapi.json").get_json()
    patch = spec["paths"]["/clients/{client_id}"]["patch"]
    assert "consent_source" in patch["summary"]
    schema = spec["components"]["schemas"]["ClientPatch"]
    assert set(schema["properties"]["consent_source"]["anyOf"][0]["enum"]) == set(
        consent.CONSENT_SOURCES
    )
