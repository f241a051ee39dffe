"""Consent follows the phone number, through the inbound webhook and the API (issue 9, 3-4).

An opt-out is the number's: it reaches every record with the number, records created later
too, until START from it; plain words and Spanish opt out with the standard confirmation; a
"cancel" or "end" inside a longer text reaches staff at once, flagged, and the client learns
how to stop all texts.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from scheduler.db.models import InboundMessage, OutboundMessage, PhoneConsentEvent
from scheduler.texts.localized import reply as worded
from tests.web.conftest import Api
from tests.web.inbound_support import (
    items,
    reply_text,
    settings_with_auth_token,  # noqa: F401  (fixture `settings`)
    twilio_fixture,  # noqa: F401  (fixture `twilio`)
)
from tests.web.pages_support import csrf, sign_in, staff

NUMBER = "+12065550177"
SEATTLE_PHONE = "(206) 555-0190"


def client_body(first: str = "Ana", **over: Any) -> dict[str, Any]:
    body = {
        "first_name": first,
        "last_name": "Reyes",
        "phone": "(206) 555-0177",
        "home_location_id": "seattle",
        "sms_consent": True,
        "goal_prompt_consent": True,
    }
    body.update(over)
    return body


def book(api: Api, client_id: int, day: str = "2027-02-24") -> dict[str, Any]:
    t = api.post(
        "/therapists",
        {"name": "Dr. Ada Byrne", "email": f"ada{client_id}@p.test", "location_ids": ["seattle"]},
    ).json
    r = api.post(
        "/series",
        {
            "client_id": client_id,
            "therapist_id": t["id"],
            "location_id": "seattle",
            "first_session_date": day,
            "start_time": "17:00",
            "session_count": 8,
            "problem_area": "grief",
        },
    )
    assert r.status_code == 201, r.json
    return r.json


def statuses(db, client_id: int) -> dict[str, int]:
    db.expire_all()
    found: dict[str, int] = {}
    query = select(OutboundMessage.status).where(OutboundMessage.client_id == client_id)
    for status in db.scalars(query):
        found[status] = found.get(status, 0) + 1
    return found


def history(db, phone: str = NUMBER) -> list[tuple[str, str]]:
    db.expire_all()
    query = select(PhoneConsentEvent).where(PhoneConsentEvent.phone == phone)
    return [(e.event, e.source) for e in db.scalars(query.order_by(PhoneConsentEvent.id))]


def test_a_client_created_with_an_opted_out_number_gets_no_text_until_start(api, db, twilio):
    # STOP from a number no client has yet: it is kept all the same.
    assert reply_text(twilio.text("STOP", frm=NUMBER)) is None
    created = api.post("/clients", client_body())
    assert created.status_code == 201, created.json
    ana = created.json
    assert ana["opted_out"] is True and ana["sms_consent"] is True
    book(api, ana["id"])
    assert statuses(db, ana["id"]).get("pending", 0) == 0  # booked, and nothing will go
    assert statuses(db, ana["id"])["suppressed"] > 0
    assert api.get(f"/clients/{ana['id']}").json["opted_out"] is True
    # START from that number lets texts go again.
    assert reply_text(twilio.text("START", frm=NUMBER)) is None  # Twilio confirms its own
    assert api.get(f"/clients/{ana['id']}").json["opted_out"] is False
    assert statuses(db, ana["id"])["pending"] > 0
    assert history(db) == [("opt_out", "sms_keyword"), ("opt_in", "sms_keyword")]
    shown = api.get(f"/clients/{ana['id']}").json["number_consent_history"]  # newest first
    assert [(e["event"], e["source"]) for e in shown] == [
        ("opt_in", "sms_keyword"),
        ("opt_out", "sms_keyword"),
    ]
    assert all(e["inbound_message_id"] for e in shown)


# The examples, and short Spanish replies that plainly mean "stop texting me".
PLAIN_WORDS = [
    ("Stop please", "sms_words"),
    ("stop texting me", "sms_words"),
    ("Please stop", "sms_words"),
    ("unsubscribe me", "sms_words"),
    ("STOP\n\nSent from my iPhone", "sms_keyword"),
    ("ST\u200bOP", "sms_keyword"),
    ("STOP\u200b", "sms_keyword"),
    ("stop stop STOP", "sms_keyword"),
    ("ALTO", "sms_keyword"),
    ("Para", "sms_keyword"),
    ("BAJA", "sms_keyword"),
    ("no más", "sms_keyword"),
    ("No me manden más mensajes", "sms_words"),
    ("ya no quiero mensajes", "sms_words"),
    ("dejen de escribirme por favor", "sms_words"),
    ("Cancelar suscripción", "sms_words"),
]


@pytest.mark.parametrize(("body", "source"), PLAIN_WORDS)
def test_plain_words_opt_out_with_the_standard_confirmation(api, db, twilio, body, source):
    ana = api.post("/clients", client_body()).json
    book(api, ana["id"])
    # Twilio did not take these as its keyword, so the confirmation is ours to send.
    assert reply_text(twilio.text(body, frm=NUMBER)) == worded("opted_out", "en")
    assert api.get(f"/clients/{ana['id']}").json["opted_out"] is True
    assert statuses(db, ana["id"]).get("pending", 0) == 0
    assert history(db) == [("opt_out", source)]
    # Nothing more goes to the number, not even an auto-reply.
    assert reply_text(twilio.text("thanks", frm=NUMBER)) is None


@pytest.mark.parametrize(
    "body",
    [
        "I need to cancel Tuesday's session",
        "can we end early today?",
        "Can I stop by the office before my session?",
        "necesito cancelar la cita del martes",
    ],
)
def test_cancel_or_end_in_a_longer_text_is_an_urgent_possible_opt_out(api, db, twilio, body):
    ana = api.post("/clients", client_body()).json
    book(api, ana["id"])
    free = twilio.text("Running late, sorry", frm=NUMBER)
    assert reply_text(free) is not None
    assert reply_text(twilio.text(body, frm=NUMBER)) == worded(
        "how_to_stop", "en", office_phone=SEATTLE_PHONE
    )
    [item] = items(db, kind="possible_opt_out")
    assert item.urgent is True and item.client_id == ana["id"] and item.status == "open"
    assert item.summary == body
    assert api.get(f"/clients/{ana['id']}").json["opted_out"] is False
    assert statuses(db, ana["id"])["pending"] > 0
    assert history(db) == []
    listed = api.get("/inbox").json
    rows = listed["items"] if isinstance(listed, dict) else listed
    assert rows[0]["kind"] == "possible_opt_out" and rows[0]["urgent"] is True  # read first
    assert all(r["urgent"] is False for r in rows[1:])


def test_spanish_start_opts_back_in_with_a_confirmation(api, db, twilio):
    ana = api.post("/clients", client_body()).json
    twilio.text("ALTO", frm=NUMBER)
    assert reply_text(twilio.text("Comenzar", frm=NUMBER)) == worded("opted_in", "en")
    assert api.get(f"/clients/{ana['id']}").json["opted_out"] is False
    assert history(db) == [("opt_out", "sms_keyword"), ("opt_in", "sms_keyword")]


def test_merging_duplicates_keeps_the_numbers_opt_out(api, db, twilio):
    kept = api.post("/clients", client_body()).json
    dup = api.post("/clients", client_body("Ana M.", confirm_duplicate=True)).json
    book(api, kept["id"])
    book(api, dup["id"], day="2027-02-25")
    twilio.text("Stop texting me", frm=NUMBER)
    r = api.post(f"/clients/{kept['id']}/merge", {"from_client_id": dup["id"]})
    assert r.status_code == 200, r.json
    assert r.json["opted_out"] is True
    assert statuses(db, kept["id"]).get("pending", 0) == 0
    # A record created later with the number is opted out too...
    later = api.post("/clients", client_body("Ana L.", confirm_duplicate=True)).json
    assert later["opted_out"] is True
    # ...until START from the number, which reaches every record with it.
    twilio.text("START", frm=NUMBER)
    for client_id in (kept["id"], later["id"]):
        assert api.get(f"/clients/{client_id}").json["opted_out"] is False
    assert statuses(db, kept["id"])["pending"] > 0


def test_staff_reconsent_clears_the_numbers_opt_out_with_its_history(api, db, twilio):
    ana = api.post("/clients", client_body()).json
    twilio.text("STOP", frm=NUMBER)
    refused = api.patch(f"/clients/{ana['id']}", {"sms_consent": True})
    assert refused.status_code == 422
    assert {"consent_source", "consent_note"} <= set(refused.json["fields"])
    assert history(db) == [("opt_out", "sms_keyword")]  # nothing written
    done = api.patch(
        f"/clients/{ana['id']}",
        {"sms_consent": True, "consent_source": "in_person", "consent_note": "Signed at desk"},
    )
    assert done.status_code == 200, done.json
    assert done.json["opted_out"] is False
    assert history(db) == [("opt_out", "sms_keyword"), ("opt_in", "staff")]


def test_a_new_phone_that_opted_out_reads_opted_out(api, db, twilio):
    ana = api.post("/clients", client_body(phone="(206) 555-0178")).json
    assert ana["opted_out"] is False
    twilio.text("STOP", frm=NUMBER)
    moved = api.patch(f"/clients/{ana['id']}", {"phone": "(206) 555-0177"})
    assert moved.status_code == 200 and moved.json["opted_out"] is True


def test_the_client_page_shows_the_numbers_history_without_the_words(api, client, db, twilio):
    ana = api.post("/clients", client_body()).json
    twilio.text("stop texting me about my sister", frm=NUMBER)
    twilio.text("START", frm=NUMBER)
    staff(db, "desk@test.invalid")
    assert sign_in(client, "desk@test.invalid").status_code == 302
    page = client.get(f"/clients/{ana['id']}").text
    assert "Opt-outs of this number" in page
    assert "texted in plain words" in page and "opted back in" in page
    assert "sister" not in page  # the client's own words stay in the inbox thread
    message = db.scalars(select(InboundMessage).order_by(InboundMessage.id)).first()
    assert message is not None and message.outcome == "opted_out"


def test_staff_record_an_opt_out_asked_for_by_phone(api, db):
    ana = api.post("/clients", client_body()).json
    sibling = api.post("/clients", client_body("Luis", confirm_duplicate=True)).json
    book(api, ana["id"])
    book(api, sibling["id"], day="2027-02-25")
    wrong = api.patch(f"/clients/{ana['id']}", {"opted_out": False})
    assert wrong.status_code == 422 and "opted_out" in wrong.json["fields"]
    mixed = api.patch(
        f"/clients/{ana['id']}",
        {"opted_out": True, "sms_consent": True, "consent_source": "in_person"},
    )
    assert mixed.status_code == 422 and "opted_out" in mixed.json["fields"]
    assert history(db) == []  # nothing written
    done = api.patch(
        f"/clients/{ana['id']}", {"opted_out": True, "consent_note": "Asked on the phone"}
    )
    assert done.status_code == 200, done.json
    assert done.json["opted_out"] is True
    assert history(db) == [("opt_out", "staff")]
    for client_id in (ana["id"], sibling["id"]):
        assert statuses(db, client_id).get("pending", 0) == 0
    shown = api.get(f"/clients/{sibling['id']}").json["number_consent_history"]
    assert (shown[0]["event"], shown[0]["recorded_by"]) == ("opt_out", "admin@test.invalid")


def test_the_desk_records_an_opt_out_on_the_client_page(api, client, db):
    ana = api.post("/clients", client_body()).json
    staff(db, "desk@test.invalid")
    assert sign_in(client, "desk@test.invalid").status_code == 302
    assert "Stop all texts to this number" in client.get(f"/clients/{ana['id']}").text
    token = csrf(client, f"/clients/{ana['id']}")
    saved = client.post(
        f"/clients/{ana['id']}",
        data={
            "csrf_token": token,
            "phone": "+12065550177",
            "sms_consent": "y",
            "goal_prompt_consent": "y",
            "consent_source": "",
            "consent_note": "Called the office: no more texts",
            "opt_out_number": "y",
        },
    )
    assert saved.status_code == 302, saved.text
    page = client.get(saved.location).text
    assert "this number opted out" in page
    assert "recorded by staff" in page and "desk@test.invalid" in page
    assert "Stop all texts to this number" not in page  # already stopped
    assert history(db) == [("opt_out", "staff")]
