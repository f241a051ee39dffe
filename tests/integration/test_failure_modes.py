"""The dispatcher against each way Twilio fails (TwilioGateway and the fake Twilio server).

The table these tests follow is in scheduler/texts/outcomes.py; the gateway's half (which
failure is "not sent" and which "maybe sent") is tested in test_twilio_failures.py. Delivery
reports (30003-30008, reports out of order) are tested in tests/web/test_status_webhook.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from scheduler.db.models import Client, OutboundMessage, SmsSender
from scheduler.db.models.inbound import InboxItem
from scheduler.sms.twilio import TwilioGateway
from scheduler.texts.reconcile import reconcile
from scheduler.texts.send import Dispatcher
from tests import factories
from tests.integration.dispatch_support import book, rows
from tests.support.fake_twilio_server import FakeTwilioServer
from tests.support.workers import ACCOUNT_SID

SEATTLE_SENDER = "+12065550191"


@pytest.fixture
def server() -> Iterator[FakeTwilioServer]:
    with FakeTwilioServer() as srv:
        yield srv


@pytest.fixture
def twilio(server) -> Iterator[TwilioGateway]:
    gw = TwilioGateway(ACCOUNT_SID, "token", api_base_url=server.url, timeout=0.5)
    yield gw
    gw.close()


@pytest.fixture
def send(container, tctx, twilio) -> Iterator[Dispatcher]:
    d = Dispatcher(container.sessions, tctx, twilio, worker_id="w1")
    yield d
    d.close()


def confirmation_for(db, tctx, office: str = "seattle"):
    c = factories.client(db, tctx, office)
    if office == "seattle":
        book(db, tctx, client_obj=c)
    else:
        factories.series(db, tctx, office=office, client_obj=c)
        db.commit()
    (row,) = rows(db, client_id=c.id, kind="booking_confirmation")
    return c, row


def settle(container, gateway, when: datetime):
    with container.sessions.begin() as other:
        return reconcile(other, gateway, claim_timeout=timedelta(minutes=2), worker="r", now=when)


@pytest.mark.parametrize(
    ("fault", "accepted"), [("500", True), ("503", False), ("timeout", True), ("reset", False)]
)
def test_an_unknown_outcome_is_reconciled_before_any_resend(
    db, container, tctx, server, twilio, send, fault, accepted
):
    c, _ = confirmation_for(db, tctx)
    server.inject(0.0, hang=1.0)
    server.fail_next(fault)
    assert send.run_pass().unknown == 1
    (row,) = rows(db, id=_.id)
    assert (row.status, row.claimed_by, row.provider_sid) == ("sending", None, None)
    assert send.run_pass().sent == 0  # never resent while nobody knows
    stats = settle(container, twilio, row.next_attempt_at)
    assert (stats.found_sent, stats.requeued) == ((1, 0) if accepted else (0, 1))
    send.run_pass()
    (row,) = rows(db, id=row.id)
    assert row.status == "sent"
    [message] = server.messages()
    assert server.counts() == {c.phone: 1} and row.provider_sid == message["sid"]


def test_connection_refused_is_known_not_sent_and_retried_with_backoff(
    db, tctx, clock, server, send
):
    c, row = confirmation_for(db, tctx)
    server.outage(1.0)
    time.sleep(0.3)  # the listener is closed
    assert send.run_pass().retried == 1
    (row,) = rows(db, id=row.id)
    assert row.status == "pending" and row.next_attempt_at > clock.now
    assert "could not reach Twilio" in row.error
    deadline = time.monotonic() + 5
    while server._down and time.monotonic() < deadline:
        time.sleep(0.05)
    clock.now = row.next_attempt_at
    assert send.run_pass().sent == 1
    assert server.counts() == {c.phone: 1}


def test_429_slows_the_sender_down_for_every_dispatcher(
    db, container, tctx, clock, server, twilio, send
):
    server.inject(0.0, retry_after=30)
    server.fail_next("429")
    _, first = confirmation_for(db, tctx)
    before = datetime.now(UTC)
    assert send.run_pass().retried == 1
    (first,) = rows(db, id=first.id)
    assert (first.status, first.error_code) == ("pending", 20429)
    assert first.next_attempt_at >= clock.now + timedelta(seconds=30)
    sender = db.get(SmsSender, SEATTLE_SENDER)
    db.refresh(sender)
    assert sender.next_slot_at >= before + timedelta(seconds=29)
    # Another worker, another Seattle text due now: it waits for the sender's clock...
    _, second = confirmation_for(db, tctx)
    # ...while other offices' senders go on.
    dallas, _ = confirmation_for(db, tctx, "dallas")
    other = Dispatcher(container.sessions, tctx, twilio, worker_id="w2")
    try:
        other.run_pass()
    finally:
        other.close()
    assert [m["to"] for m in server.messages()] == [dallas.phone]
    (second,) = rows(db, id=second.id)
    assert second.status == "pending"


def test_failed_list_pages_leave_reconciliation_for_later_and_due_texts_go_out(
    db, container, tctx, server, twilio, send
):
    stuck_client, stuck = confirmation_for(db, tctx)
    server.fail_next("500")
    send.run_pass()
    (stuck,) = rows(db, id=stuck.id)
    due_client, _ = confirmation_for(db, tctx)
    server.fail_next("list_500")
    asked_at = stuck.next_attempt_at
    stats = settle(container, twilio, asked_at)
    assert stats.still_unknown == 1 and stats.found_sent == stats.requeued == 0
    (stuck,) = rows(db, id=stuck.id)
    # Asked again later; the claim's time, which bounds what is asked about, stays.
    assert (stuck.status, stuck.claimed_by) == ("sending", None)
    assert stuck.next_attempt_at == asked_at + timedelta(minutes=2)
    assert stuck.claimed_at < asked_at
    assert send.run_pass().sent == 1  # what is due still goes out
    assert settle(container, twilio, asked_at + timedelta(minutes=1)).found_sent == 0
    assert settle(container, twilio, asked_at + timedelta(minutes=3)).found_sent == 1
    assert server.counts() == {stuck_client.phone: 1, due_client.phone: 1}


@pytest.mark.parametrize("dead_worker", [False, True])
def test_a_text_is_found_sent_however_long_the_list_stayed_down(
    db, container, tctx, server, twilio, send, dead_worker
):
    """The fault matrix's duplicate: a send accepted but answered 500 (or a worker killed
    after sending), then the provider's list failing until well past reconcile.LIST_MARGIN
    after the claim. Each failed question used to move `claimed_at` to its own time, so the
    question that finally got an answer asked only about messages after it, missed the text
    and sent it again."""
    c, row = confirmation_for(db, tctx)
    if dead_worker:
        send.before_send = lambda claimed: server.fail_next("500")
        send.run_pass()
        # As a SIGKILL after the send leaves it: claimed by a worker that never recorded it.
        db.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == row.id)
            .values(status="sending", claimed_by="dead:1:x", provider_sid=None, error=None)
        )
        db.commit()
    else:
        server.fail_next("500")
        assert send.run_pass().unknown == 1
    (row,) = rows(db, id=row.id)
    assert row.status == "sending" and len(server.messages()) == 1
    first_ask = row.claimed_at + timedelta(minutes=3)
    server.fail_next("list_500", times=4)
    for minutes in (0, 2, 4, 6):  # 429s and 5xx for six minutes
        stats = settle(container, twilio, first_ask + timedelta(minutes=minutes))
        assert stats.still_unknown == 1 and stats.found_sent == stats.requeued == 0
    (row,) = rows(db, id=row.id)
    stats = settle(container, twilio, row.next_attempt_at)
    assert (stats.found_sent, stats.requeued) == (1, 0)
    assert send.run_pass().sent == 0
    (row,) = rows(db, id=row.id)
    assert row.status == "sent" and row.provider_sid == server.messages()[0]["sid"]
    assert server.counts() == {c.phone: 1}


def test_opted_out_at_twilio_fails_the_text_and_opts_the_client_out(db, tctx, server, send):
    c, row = confirmation_for(db, tctx)
    server.fail_next("21610")
    assert send.run_pass().failed == 1
    (row,) = rows(db, id=row.id)
    assert (row.status, row.error_code) == ("failed", 21610)
    db.expire_all()
    assert db.get(Client, c.id).opted_out_at is not None


@pytest.mark.parametrize("fault", ["21614", "21211"])
def test_an_invalid_or_landline_number_is_undeliverable_with_an_inbox_item(
    db, tctx, server, send, fault
):
    c, row = confirmation_for(db, tctx)
    server.fail_next(fault)
    assert send.run_pass().failed == 1
    (row,) = rows(db, id=row.id)
    assert (row.status, row.error_code) == ("failed", int(fault))
    db.expire_all()
    assert db.get(Client, c.id).phone_undeliverable_at is not None
    items = db.scalars(select(InboxItem).where(InboxItem.client_id == c.id)).all()
    assert [(i.kind, i.status) for i in items] == [("undeliverable_phone", "open")]
    assert c.phone not in items[0].summary
    assert server.messages() == []
