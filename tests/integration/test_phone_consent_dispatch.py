"""The number's opt-out at send time: a STOP that arrives after a text was claimed stops it,
and Twilio's 21610 opts the number out for every record with it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from scheduler.db.models import Client
from scheduler.services import inbound, phone_consent
from scheduler.services.inbound import InboundSms
from scheduler.sms.gateway import SmsError
from scheduler.texts.send import Dispatcher
from tests import factories
from tests.integration.dispatch_support import book, rows

SEATTLE_SMS = "+12065550191"


def test_a_stop_after_the_claim_stops_the_send_and_says_why(db, container, tctx, gateway):
    series = book(db, tctx)
    phone = series.client.phone
    stopped: list[int] = []

    def stop_meanwhile(claimed):
        # The text is claimed ("sending", rendered, slotted); the client texts STOP now.
        if not stopped and claimed:
            with container.sessions.begin() as other:
                inbound.receive(
                    other, tctx, InboundSms("SM" + "5" * 32, phone, SEATTLE_SMS, "STOP")
                )
            stopped.append(len(claimed))

    d = Dispatcher(container.sessions, tctx, gateway, worker_id="w", before_send=stop_meanwhile)
    try:
        d.run_pass()
    finally:
        d.close()
    assert stopped, "nothing was claimed: nothing was tested"
    assert gateway.messages == []  # not sent
    (confirmation,) = rows(db, series_id=series.id, kind="booking_confirmation")
    # Not lost silently: the row says it was stopped, and why.
    assert confirmation.status == "suppressed", confirmation.status
    assert confirmation.reason == "client opted out"
    assert confirmation.provider_sid is None
    assert all(r.status in ("suppressed", "cancelled") for r in rows(db, series_id=series.id))


def test_start_after_stop_lets_texts_go_again(db, container, tctx, gateway, dispatcher):
    series = book(db, tctx)
    phone = series.client.phone
    with container.sessions.begin() as other:
        inbound.receive(other, tctx, InboundSms("SM" + "6" * 32, phone, SEATTLE_SMS, "STOP"))
    dispatcher.run_pass()
    assert gateway.messages == []
    with container.sessions.begin() as other:
        inbound.receive(other, tctx, InboundSms("SM" + "7" * 32, phone, SEATTLE_SMS, "START"))
    assert [r for r in rows(db, series_id=series.id) if r.status == "pending"]


def test_twilio_21610_opts_the_number_out_for_every_record_with_it(
    db, container, tctx, gateway, dispatcher
):
    series = book(db, tctx)
    sibling = factories.client(db, tctx, phone=series.client.phone)
    db.commit()
    gateway.fail_next(SmsError("unsubscribed", code=21610, status=400, retryable=False))
    dispatcher.run_pass()
    db.expire_all()
    for client_id in (series.client.id, sibling.id):
        assert db.get(Client, client_id).opted_out_at is not None
    [event] = phone_consent.history(db, series.client.phone)
    assert (event.event, event.source, event.recorded_by) == ("opt_out", "twilio", "twilio")
    assert "21610" in (event.note or "")
    assert not [r for r in rows(db, client_id=series.client.id) if r.status == "pending"]


def test_two_first_stops_from_one_number_at_once_keep_one_state_and_both_events(container):
    """The first opt-out of a number inserts its state row: a second writer at the same time
    waits, then finds the row instead of failing."""
    phone = "+12065550166"
    at = datetime(2027, 2, 15, 18, tzinfo=UTC)
    first_in = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            first_in.wait(5)
            with container.sessions.begin() as other:
                phone_consent.opt_out(other, phone, at=at, source="sms_words")
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    with container.sessions.begin() as db:
        assert phone_consent.opt_out(db, phone, at=at, source="sms_keyword") is True
        first_in.set()
        worker.join(0.5)  # the second writer is now waiting on this transaction
    worker.join(10)
    assert not worker.is_alive() and errors == []
    with container.sessions() as db:
        assert phone_consent.opted_out_at(db, phone) == at
        assert sorted(e.source for e in phone_consent.history(db, phone)) == [
            "sms_keyword",
            "sms_words",
        ]
