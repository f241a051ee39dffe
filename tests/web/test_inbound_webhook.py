"""POST /webhooks/twilio/inbound: signatures, idempotency, bad input and TwiML."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from scheduler.db.models.inbound import InboundMessage
from tests import factories
from tests.web.inbound_support import (
    DALLAS_SMS,
    INBOUND_PATH,
    PUBLIC_BASE,
    SEATTLE_SMS,
    counts,
    items,
    params,
    reply_text,
    settings_with_auth_token,  # noqa: F401  (fixture `settings`)
    sign,
    twilio_fixture,  # noqa: F401  (fixture `twilio`)
)


@pytest.fixture
def booked(db, ctx):
    series = factories.series(db, ctx)
    db.commit()
    return series


# --- signatures ------------------------------------------------------------------------------


def test_a_correctly_signed_text_is_accepted(twilio, db, booked):
    response = twilio.text("hello", frm=booked.client.phone)
    assert reply_text(response) is not None
    assert response.headers["Content-Type"].startswith("text/xml")
    assert counts(db)["inbound_messages"] == 1


def _refused(response, before, db):
    assert response.status_code == 403
    assert counts(db) == before


def test_a_text_without_signature_is_refused_and_nothing_written(twilio, db, booked):
    before = counts(db)
    _refused(twilio.post(params("STOP", frm=booked.client.phone), signature=None), before, db)
    _refused(twilio.post(params("STOP", frm=booked.client.phone), signature=""), before, db)


def test_a_forged_signature_is_refused(twilio, db, booked):
    before = counts(db)
    p = params("STOP", frm=booked.client.phone)
    _refused(twilio.post(p, signature="bm90IGEgc2lnbmF0dXJlIGF0IGFsbA=="), before, db)
    _refused(twilio.post(p, signature=sign(p, token="another-accounts-auth-token")), before, db)


def test_a_changed_parameter_breaks_the_signature(twilio, db, booked):
    before = counts(db)
    p = params("hello", frm=booked.client.phone)
    good = sign(p)
    _refused(twilio.post({**p, "Body": "STOP"}, signature=good), before, db)
    _refused(twilio.post({**p, "From": "+12065550999"}, signature=good), before, db)
    _refused(twilio.post({**p, "Extra": "1"}, signature=good), before, db)


def test_a_signature_for_another_url_is_refused(twilio, db, booked):
    before = counts(db)
    p = params("STOP", frm=booked.client.phone)
    for url in (
        "https://evil.example.test" + INBOUND_PATH,
        "http://localhost" + INBOUND_PATH,  # what the request's own Host would say
        PUBLIC_BASE + "/webhooks/twilio/status",
        PUBLIC_BASE + INBOUND_PATH + "?x=1",
    ):
        _refused(twilio.post(p, signature=sign(p, url=url)), before, db)


def test_forwarded_host_headers_are_not_trusted(twilio, db, booked):
    before = counts(db)
    p = params("STOP", frm=booked.client.phone)
    forged_url = "https://attacker.example.test" + INBOUND_PATH
    headers = {"X-Forwarded-Host": "attacker.example.test", "X-Forwarded-Proto": "https"}
    _refused(twilio.post(p, signature=sign(p, url=forged_url), headers=headers), before, db)


def test_without_an_auth_token_every_text_is_refused(app, client, container, db, booked):
    from dataclasses import replace

    container.settings = replace(container.settings, twilio_auth_token=None)
    before = counts(db)
    p = params("hello", frm=booked.client.phone)
    response = client.post(
        INBOUND_PATH,
        data=urlencode(p),
        headers={"X-Twilio-Signature": sign(p)},
        content_type="application/x-www-form-urlencoded",
    )
    _refused(response, before, db)


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_message_sid_twice_has_one_effect(twilio, db, booked):
    p = params("C", frm=booked.client.phone)
    first = twilio.post(p)
    after_first = counts(db)
    second = twilio.post(p)
    assert counts(db) == after_first
    assert after_first["confirmed"] == 1
    assert reply_text(second) == reply_text(first)  # a retry gets the answer that was lost
    r = params("R", frm=booked.client.phone)
    twilio.post(r)
    twilio.post(r)
    assert len(items(db, kind="reschedule_request")) == 1


def test_a_concurrent_duplicate_replays_instead_of_failing(twilio, db, booked, monkeypatch):
    """Two deliveries racing past the first lookup: the unique MessageSid decides."""
    from scheduler.services import inbound

    p = params("hello", frm=booked.client.phone)
    assert reply_text(twilio.post(p)) is not None
    before = counts(db)
    monkeypatch.setattr(inbound, "_by_sid", _misses_once(inbound._by_sid))
    assert reply_text(twilio.post(p)) is not None
    assert counts(db) == before


def _misses_once(real):
    calls = {"n": 0}

    def lookup(db, sid):
        calls["n"] += 1
        return None if calls["n"] == 1 else real(db, sid)

    return lookup


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["MessageSid", "From", "To"])
def test_a_missing_field_is_named_and_nothing_written(twilio, db, booked, missing):
    before = counts(db)
    p = params("hello", frm=booked.client.phone)
    del p[missing]
    response = twilio.post(p)
    assert response.status_code == 400
    assert missing in response.get_json()["fields"]
    assert counts(db) == before


def test_a_malformed_message_sid_is_refused(twilio, db, booked):
    before = counts(db)
    response = twilio.post(params("hi", frm=booked.client.phone, sid="SM<script>"))
    assert response.status_code == 400
    assert "MessageSid" in response.get_json()["fields"]
    assert counts(db) == before


def test_a_text_to_an_unknown_number_is_kept_for_admins_and_answered_clearly(twilio, db, booked):
    p = params("please call me", frm=booked.client.phone, to="+15005550006")
    response = twilio.post(p)
    assert response.status_code == 422
    assert "To" in response.get_json()["fields"]
    kept = items(db, kind="unrouted")
    assert len(kept) == 1 and kept[0].office_id is None
    assert kept[0].summary.startswith("Sent to +15005550006")
    row = db.scalar(select(InboundMessage).where(InboundMessage.message_sid == p["MessageSid"]))
    assert row is not None and row.body == "please call me"
    assert twilio.post(p).status_code == 422  # a retry is answered the same, written once
    assert len(items(db, kind="unrouted")) == 1


def test_a_huge_body_is_kept_whole(twilio, db, booked):
    body = "word " * 5000  # 25,000 characters: far beyond Twilio's 1,600, inside the size cap
    response = twilio.text(body, frm=booked.client.phone)
    assert reply_text(response)
    [item] = items(db, kind="free_text")
    assert item.summary == body and len(item.summary) == 25_000


def test_a_body_over_the_size_cap_is_refused_before_anything_is_written(twilio, db, booked):
    before = counts(db)
    response = twilio.text("x" * 70_000, frm=booked.client.phone)
    assert response.status_code == 413
    assert counts(db) == before


def test_non_utf8_bytes_are_refused_clearly(twilio, db, booked):
    before = counts(db)
    p = params("placeholder", frm=booked.client.phone)
    # Werkzeug keeps the undecodable escape as literal text; sign what it will see.
    encoded = urlencode({k: v for k, v in p.items() if k != "Body"}) + "&Body=caf%E9"
    response = twilio.post({**p, "Body": "caf%E9"}, raw=encoded.encode())
    assert response.status_code == 400
    assert "UTF-8" in response.get_json()["message"]
    raw_byte = (urlencode(p) + "&Note=\xff").encode("latin-1")
    assert twilio.post({}, raw=raw_byte).status_code == 400  # werkzeug drops such a form
    assert counts(db) == before


def test_emoji_and_other_scripts_are_kept_exactly(twilio, db, booked):
    body = "Спасибо 👍🏽 — much better this week 🙂"
    assert reply_text(twilio.text(body, frm=booked.client.phone))
    [item] = items(db, kind="free_text")
    assert item.summary == body


def test_a_nul_character_does_not_break_the_database(twilio, db, booked):
    assert reply_text(twilio.text("a\x00b", frm=booked.client.phone))
    [item] = items(db, kind="free_text")
    assert item.summary == "a\ufffdb"


def test_a_picture_without_text_still_reaches_the_inbox(twilio, db, booked):
    p = {**params("", frm=booked.client.phone), "NumMedia": "1"}
    assert reply_text(twilio.post(p))
    [item] = items(db, kind="free_text")
    assert "1 attachment" in item.summary


# --- TwiML -----------------------------------------------------------------------------------


def test_replies_are_escaped_xml(twilio, db, booked, locations):
    response = twilio.text("help", frm=booked.client.phone)
    raw = response.get_data(as_text=True)
    assert "Msg&amp;data" in raw and "Msg&data" not in raw
    text = reply_text(response)
    assert text is not None and "Msg&data" in text


def test_the_office_is_found_by_the_to_number(twilio, db, booked, locations):
    twilio.text("running late", frm=booked.client.phone, to=DALLAS_SMS)
    twilio.text("see you", frm=booked.client.phone, to=SEATTLE_SMS)
    assert [i.office_id for i in items(db, kind="free_text")] == ["dallas", "seattle"]
