"""Replies from the inbox go through the dispatcher: from the office's number, never in quiet
hours, never to a client who opted out in the meantime, and never into the log."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from scheduler.db.models import AuditEntry, InboxItem, OutboundMessage
from scheduler.services import inbound, inbox_replies
from scheduler.services.errors import Invalid
from scheduler.services.inbound import InboundSms
from tests import factories

SEATTLE_SMS = "+12065550191"
WORDS = "Yes, Thursday at 4 works. See you then!"


def _text_in(db, tctx, phone: str, body: str = "Can we move Thursday?") -> InboxItem:
    sid = "SM" + uuid.uuid4().hex
    inbound.receive(db, tctx, InboundSms(sid, phone, SEATTLE_SMS, body))
    db.commit()
    return db.scalars(select(InboxItem).order_by(InboxItem.id.desc())).first()


@pytest.fixture
def item(db, tctx):
    series = factories.series(db, tctx, first=date(2027, 2, 24), at=time(17), count=12)
    db.commit()
    return _text_in(db, tctx, series.client.phone)


def test_a_reply_is_sent_from_the_offices_number(db, tctx, item, dispatcher, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    queued = inbox_replies.queue_reply(db, tctx, item.id, WORDS, actor="desk@t.test")
    db.commit()
    assert queued.held_until is None and queued.segments == 1
    dispatcher.run_pass()
    [sent] = [m for m in gateway.messages if m.body == WORDS]
    phone = item.client.phone
    assert sent.to == phone
    assert sent.from_number == SEATTLE_SMS or sent.messaging_service_sid is not None
    db.expire_all()
    assert db.get(OutboundMessage, queued.message.id).status == "sent"
    assert WORDS not in caplog.text  # staff words are never logged
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "inbox.replied")).one()
    assert WORDS not in str(audit.details)


def test_a_reply_written_in_quiet_hours_waits_for_the_morning(
    db, tctx, clock, item, dispatcher, gateway
):
    clock.now = datetime(2027, 2, 16, 6, 30, tzinfo=UTC)  # 22:30 in Seattle
    queued = inbox_replies.queue_reply(db, tctx, item.id, WORDS, actor="desk@t.test")
    db.commit()
    assert queued.held_until == datetime(2027, 2, 16, 16, 0, tzinfo=UTC)  # 08:00 Seattle
    assert queued.as_json()["held_for_quiet_hours"] is True
    dispatcher.run_pass()
    assert [m for m in gateway.messages if m.body == WORDS] == []
    clock.now = datetime(2027, 2, 16, 16, 1, tzinfo=UTC)
    dispatcher.run_pass()
    assert [m.body for m in gateway.messages if m.body == WORDS] == [WORDS]


def test_an_opt_out_after_queueing_stops_the_reply(db, tctx, item, dispatcher, gateway):
    queued = inbox_replies.queue_reply(db, tctx, item.id, WORDS, actor="desk@t.test")
    db.commit()
    inbound.receive(db, tctx, InboundSms("SM" + "8" * 32, item.client.phone, SEATTLE_SMS, "STOP"))
    db.commit()
    dispatcher.run_pass()
    assert [m for m in gateway.messages if m.body == WORDS] == []
    db.expire_all()
    assert db.get(OutboundMessage, queued.message.id).status == "suppressed"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("   ", "is empty"),
        ("see you\x00", "control"),
        ("zero\u200bwidth", "control"),
        ("x" * 460, "4 text messages"),
    ],
)
def test_reply_text_is_checked(db, tctx, item, text, problem):
    with pytest.raises(Invalid) as caught:
        inbox_replies.queue_reply(db, tctx, item.id, text, actor="desk@t.test")
    assert problem in caught.value.fields["text"]


def test_no_reply_to_a_client_who_opted_out_or_a_stranger(db, tctx, item):
    stranger_item = _text_in(db, tctx, "+12065550999", "who is this?")
    with pytest.raises(Invalid) as caught:
        inbox_replies.queue_reply(db, tctx, stranger_item.id, WORDS, actor="desk@t.test")
    assert "no client has this phone" in caught.value.fields["item"]
    factories.opt_out_number(db, item.client.phone, datetime(2027, 2, 15, tzinfo=UTC))
    db.commit()
    with pytest.raises(Invalid) as caught:
        inbox_replies.queue_reply(db, tctx, item.id, WORDS, actor="desk@t.test")
    assert "opted out" in caught.value.fields["item"]
