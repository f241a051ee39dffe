"""What each kind of text does: opt-out/in, HELP, C, R, ratings, free text, unknown senders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.db.models import ConsentEvent, PhoneConsentEvent, TherapySession
from scheduler.db.models.inbound import InboundMessage, ProgressRating
from scheduler.db.models.messaging import OutboundMessage
from scheduler.texts.localized import reply as worded
from tests import factories
from tests.web.inbound_support import (
    DALLAS_SMS,
    SEATTLE_SMS,
    counts,
    items,
    reply_text,
    sent_goal_prompt,
    settings_with_auth_token,  # noqa: F401  (fixture `settings`)
    twilio_fixture,  # noqa: F401  (fixture `twilio`)
)

OPT_OUT = ["STOP", "stop", "  Stop. ", "STOPALL", "unsubscribe", "Cancel", "END", "quit!", "revoke"]
OPT_OUT += ["OPTOUT", "opt out", "\tstop\n"]
OPT_IN = ["START", "start", " Unstop. ", "yes", "YES!", "  start  "]


@pytest.fixture
def booked(db, ctx):
    series = factories.series(db, ctx)
    db.commit()
    return series


def _pending(db, client_id: int, status: str = "pending") -> OutboundMessage:
    when = datetime.now(UTC) + timedelta(days=3)
    message = OutboundMessage(
        client_id=client_id,
        office_id="seattle",
        kind="reminder_24h",
        send_at=when,
        expires_at=when + timedelta(hours=2),
        status=status,
    )
    db.add(message)
    db.commit()
    return message


def _next_session(series) -> TherapySession:
    return min(series.sessions, key=lambda s: s.starts_at)


# --- opt-out and opt-in ------------------------------------------------------------------


def _number_history(db, phone: str) -> list[PhoneConsentEvent]:
    db.expire_all()
    query = select(PhoneConsentEvent).where(PhoneConsentEvent.phone == phone)
    return list(db.scalars(query.order_by(PhoneConsentEvent.id)))


@pytest.mark.parametrize("body", OPT_OUT)
def test_every_opt_out_word_opts_out_with_time_and_source(twilio, db, booked, body):
    client = booked.client
    waiting = _pending(db, client.id)
    response = twilio.text(body, frm=client.phone)
    # Twilio answers its own keywords (one word alone) and would block anything we sent now;
    # "opt out" with a space is not one of them, so the standard confirmation is ours to send.
    if body.strip(" \t\n.!").upper() in ("OPT OUT",):
        assert reply_text(response) == worded("opted_out", "en")
    else:
        assert reply_text(response) is None
    db.refresh(client)
    assert client.opted_out_at is not None
    assert client.sms_consent is True  # the client's consent stands; the number opted out
    [event] = _number_history(db, client.phone)
    assert (event.event, event.source) == ("opt_out", "sms_keyword")
    message = db.get(InboundMessage, event.inbound_message_id)
    assert message is not None and message.body == body
    db.refresh(waiting)
    assert waiting.status == "suppressed"


def test_an_opt_out_reaches_every_client_sharing_the_phone(twilio, db, ctx, booked):
    sibling = factories.client(db, ctx, phone=booked.client.phone)
    db.commit()
    twilio.text("STOP", frm=booked.client.phone, to=DALLAS_SMS)  # any office's number
    for client in (booked.client, sibling):
        db.refresh(client)
        assert client.opted_out_at is not None


@pytest.mark.parametrize("body", OPT_IN)
def test_every_opt_in_word_opts_back_in(twilio, db, booked, body):
    client = booked.client
    twilio.text("STOP", frm=client.phone)
    assert reply_text(twilio.text(body, frm=client.phone)) is None  # Twilio confirms
    db.refresh(client)
    assert client.opted_out_at is None and client.sms_consent is True
    assert client.goal_prompt_consent is True  # untouched by STOP and START
    events = _number_history(db, client.phone)
    assert [(e.event, e.source) for e in events] == [
        ("opt_out", "sms_keyword"),
        ("opt_in", "sms_keyword"),
    ]


def test_yes_from_a_client_who_never_opted_out_is_kept_as_an_answer(twilio, db, booked):
    def events() -> int:
        db.expire_all()
        query = select(ConsentEvent).where(ConsentEvent.client_id == booked.client.id)
        return len(db.scalars(query).all())

    before = events()
    assert reply_text(twilio.text("Yes", frm=booked.client.phone)) is None
    [item] = items(db, kind="free_text")
    assert item.summary == "Yes" and item.client_id == booked.client.id
    assert events() == before


# --- HELP ----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["HELP", "help", " Help. ", "info", "INFO?", "AYUDA", "ayuda?"])
def test_help_names_the_practice_the_office_phone_and_how_to_opt_out(twilio, booked, body):
    text = reply_text(twilio.text(body, frm=booked.client.phone, to=DALLAS_SMS))
    assert text is not None
    assert "Interpersonal Therapy Associates" in text
    assert "(214) 555-0180" in text  # Dallas's phone, because the text went to Dallas
    assert "STOP" in text


# --- C and R -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["C", "c", " c ", "C.", "confirm", "CONFIRM!", "Confirmed", "Confirmar", "confirmó"]
)
def test_c_confirms_the_next_session(twilio, db, booked, api, body):
    text = reply_text(twilio.text(body, frm=booked.client.phone))
    first = _next_session(booked)
    db.refresh(first)
    assert first.confirmed_at is not None
    assert text is not None and "Wed Feb 24, 5:00 PM PST" in text
    shown = api.get(f"/sessions/{first.id}").get_json()
    assert shown["confirmed"] is True
    others = [s for s in booked.sessions if s.id != first.id]
    assert all(s.confirmed_at is None for s in others)


def test_c_with_nothing_upcoming_goes_to_the_inbox(twilio, db, ctx):
    client = factories.client(db, ctx)
    db.commit()
    text = reply_text(twilio.text("C", frm=client.phone))
    assert text == worded("nothing_to_confirm", "en", office_phone="(206) 555-0190")
    [item] = items(db, kind="confirm_unmatched")
    assert item.client_id == client.id and item.office_id == "seattle"


@pytest.mark.parametrize(
    "body", ["R", "r", " R. ", "reschedule", "Reschedule!", "REPROGRAMAR", "reprogramár"]
)
def test_r_is_a_reschedule_request_in_the_office_inbox(twilio, db, booked, body):
    text = reply_text(twilio.text(body, frm=booked.client.phone))
    assert text == worded("reschedule", "en", office_phone="(206) 555-0190")
    [item] = items(db, kind="reschedule_request")
    assert item.office_id == "seattle" and item.status == "open"
    assert item.session_id == _next_session(booked).id
    assert item.client_id == booked.client.id


def test_requests_land_in_the_office_of_the_session(twilio, db, ctx):
    series = factories.series(db, ctx, office="dallas")
    db.commit()
    twilio.text("R", frm=series.client.phone, to=DALLAS_SMS)
    twilio.text("call me please", frm=series.client.phone, to=DALLAS_SMS)
    assert [i.office_id for i in items(db)] == ["dallas", "dallas"]
    assert items(db, office_id="seattle") == []


# --- ratings and free text -----------------------------------------------------------------


@pytest.mark.parametrize("body", ["1", "3", " 5. ", "4!"])
def test_a_rating_after_a_goal_prompt_is_that_weeks_rating(twilio, db, booked, body):
    first = _next_session(booked)
    prompt = sent_goal_prompt(db, booked.client, first, sent_at=datetime.now(UTC) - timedelta(1))
    text = reply_text(twilio.text(body, frm=booked.client.phone))
    assert text == worded("rating", "en")
    rating = db.scalar(select(ProgressRating))
    assert rating is not None
    assert rating.rating == int(body.strip(" .!"))
    assert (rating.session_id, rating.prompt_message_id) == (first.id, prompt.id)
    assert items(db) == []


def test_a_digit_without_a_recent_prompt_is_free_text(twilio, db, booked):
    first = _next_session(booked)
    sent_goal_prompt(db, booked.client, first, sent_at=datetime.now(UTC) - timedelta(days=8))
    twilio.text("4", frm=booked.client.phone)
    assert db.scalar(select(ProgressRating)) is None
    [item] = items(db, kind="free_text")
    assert item.summary == "4"


@pytest.mark.parametrize("body", ["0", "6", "10", "4/5", "3 or 4"])
def test_numbers_outside_one_to_five_are_free_text(twilio, db, booked, body):
    first = _next_session(booked)
    sent_goal_prompt(db, booked.client, first, sent_at=datetime.now(UTC) - timedelta(hours=3))
    twilio.text(body, frm=booked.client.phone)
    assert db.scalar(select(ProgressRating)) is None
    assert [i.summary for i in items(db, kind="free_text")] == [body]


def test_free_text_goes_to_the_inbox_linked_to_the_client(twilio, db, booked):
    text = reply_text(twilio.text("I talked to my sister!", frm=booked.client.phone))
    assert text == worded("received", "en", office_phone="(206) 555-0190")
    [item] = items(db, kind="free_text")
    assert (item.office_id, item.client_id, item.status) == ("seattle", booked.client.id, "open")


# --- unknown and shared numbers ------------------------------------------------------------


@pytest.mark.parametrize("body", ["hello", "C", "R", "3", "help", "STOP", "START"])
def test_unknown_numbers_reach_the_inbox_and_learn_nothing(twilio, db, ctx, booked, body):
    stranger = "+12065550999"
    known_reply = None
    if body not in ("STOP", "START"):
        nobody = factories.client(db, ctx, phone="+12065550998")  # a client with no sessions
        db.commit()
        known_reply = reply_text(twilio.text(body, frm=nobody.phone))
    before = counts(db)
    text = reply_text(twilio.text(body, frm=stranger))
    assert text == known_reply  # the same answer a client without sessions gets
    [item] = items(db, kind="unknown_sender")
    assert item.office_id == "seattle" and item.client_id is None
    assert item.inbound_message.from_number == stranger
    assert counts(db)["opted_out"] == before["opted_out"]
    assert counts(db)["confirmed"] == 0
    for word in (booked.client.first_name, booked.client.last_name):
        assert word not in (text or "")


def test_a_phone_shared_by_two_clients_of_one_office_is_not_guessed(twilio, db, ctx, booked):
    other = factories.client(db, ctx, phone=booked.client.phone)
    db.commit()
    factories.series(db, ctx, client_obj=other, first=booked.first_session_date + timedelta(1))
    db.commit()
    twilio.text("C", frm=booked.client.phone)
    assert counts(db)["confirmed"] == 0
    [item] = items(db, kind="ambiguous_sender")
    assert item.client_id is None and "2 clients" in item.summary


def test_no_reply_ever_suggests_cancel(twilio, db, booked, locations):
    bodies = ["help", "C", "R", "hello", "3", "STOP", "START"]
    replies = [reply_text(twilio.text(b, frm=booked.client.phone)) for b in bodies]
    for text in filter(None, replies):
        assert "CANCEL" not in text.upper()


def test_replies_fit_one_sms_segment(locations):
    from scheduler.domain.sms import segment_count

    longest_office = max((loc.name for loc in locations.locations), key=len)
    texts = [
        worded("confirmed", "en", when="Wed Sep 30, 12:00 PM AKDT", office_name=longest_office),
        worded("nothing_to_confirm", "en", office_phone="(520) 555-0110"),
        worded("reschedule", "en", office_phone="(520) 555-0110"),
        worded("rating", "en"),
        worded("received", "en", office_phone="(520) 555-0110"),
    ]
    assert [segment_count(t) for t in texts] == [1] * len(texts)


def test_seattle_number_constant_matches_the_locations_file(locations):
    assert locations.by_sms_number(SEATTLE_SMS).id == "seattle"


def test_an_opted_out_client_is_heard_but_not_answered(twilio, db, booked):
    twilio.text("STOP", frm=booked.client.phone)
    assert reply_text(twilio.text("C", frm=booked.client.phone)) is None  # Twilio would block it
    assert reply_text(twilio.text("running late", frm=booked.client.phone)) is None
    assert counts(db)["confirmed"] == 1
    [item] = items(db, kind="free_text")
    assert item.client_id == booked.client.id
