"""Opt-out and opt-in by text, seen from the dispatcher: what it sends afterwards."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from scheduler.services import inbound
from scheduler.services.inbound import InboundSms
from scheduler.sms.fake import FakeGateway
from tests import factories

SEATTLE_SMS = "+12065550191"


def _text(db, tctx, body: str, phone: str, sid: str) -> inbound.Receipt:
    receipt = inbound.receive(db, tctx, InboundSms(sid, phone, SEATTLE_SMS, body))
    db.commit()
    return receipt


def _to(gateway: FakeGateway, phone: str) -> list[str]:
    return [m.body for m in gateway.messages if m.to == phone]


@pytest.mark.parametrize("word", ["STOP", " stop. ", "Unsubscribe", "cancel", "quit", "end"])
def test_after_an_opt_out_a_dispatch_pass_sends_that_client_nothing(
    db, tctx, clock, dispatcher, gateway, word
):
    quiet = factories.series(db, tctx, first=date(2027, 2, 24), at=time(17), count=12)
    other = factories.series(db, tctx, first=date(2027, 2, 24), at=time(18), count=12)
    db.commit()
    assert _text(db, tctx, word, quiet.client.phone, "SM" + "1" * 32).outcome == "opted_out"
    dispatcher.run_pass()
    assert _to(gateway, quiet.client.phone) == []
    assert len(_to(gateway, other.client.phone)) == 1  # the dispatcher did run: a control
    clock.now = datetime(2027, 2, 24, 1, 30, tzinfo=UTC)  # after the 24-hour reminders are due
    dispatcher.run_pass()
    assert _to(gateway, quiet.client.phone) == []
    assert any("visit 1 of 12" in b for b in _to(gateway, other.client.phone))


@pytest.mark.parametrize("word", ["START", "unstop", "Yes."])
def test_after_opting_back_in_the_next_reminders_go_out(db, tctx, clock, dispatcher, gateway, word):
    series = factories.series(db, tctx, first=date(2027, 2, 24), at=time(17), count=12)
    db.commit()
    phone = series.client.phone
    _text(db, tctx, "STOP", phone, "SM" + "2" * 32)
    dispatcher.run_pass()
    assert _to(gateway, phone) == []
    clock.now = datetime(2027, 2, 16, 18, 0, tzinfo=UTC)
    assert _text(db, tctx, word, phone, "SM" + "3" * 32).outcome == "opted_in"
    clock.now = datetime(2027, 2, 24, 1, 30, tzinfo=UTC)
    dispatcher.run_pass()
    # The reminder, and the questionnaire link the measure plan asks for before visit 1.
    sent = _to(gateway, phone)
    reminders = [body for body in sent if "visit 1 of 12" in body]
    assert len(sent) == 2 and len(reminders) == 1
    assert "CANCEL" not in reminders[0].upper()
