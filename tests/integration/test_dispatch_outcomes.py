"""What the dispatcher does with each provider refusal, lost reply and dead worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.db.models import Client
from scheduler.db.models.inbound import InboxItem
from scheduler.sms.gateway import SmsError, SmsOutcomeUnknown
from scheduler.texts.reconcile import reconcile
from scheduler.texts.send import Dispatcher
from tests import factories
from tests.integration.dispatch_support import book, rows


def test_opted_out_by_twilio_stops_the_rest(db, tctx, dispatcher, gateway):
    c = factories.client(db, tctx)
    book(db, tctx, client_obj=c)
    gateway.fail_for(c.phone, SmsError("unsubscribed", code=21610, status=400))
    stats = dispatcher.run_pass()
    assert stats.failed == 1 and stats.sent == 0
    (confirmation,) = rows(db, client_id=c.id, kind="booking_confirmation")
    assert (confirmation.status, confirmation.error_code) == ("failed", 21610)
    db.expire_all()
    assert db.get(Client, c.id).opted_out_at is not None
    assert {r.status for r in rows(db, client_id=c.id, kind="reminder_2h")} == {"suppressed"}
    assert {r.reason for r in rows(db, client_id=c.id, kind="reminder_2h")} == {"client opted out"}


@pytest.mark.parametrize("code", [21211, 21614, 30006])
def test_undeliverable_number_is_flagged_for_the_desk(db, tctx, dispatcher, gateway, code):
    c = factories.client(db, tctx)
    book(db, tctx, client_obj=c)
    gateway.fail_for(c.phone, SmsError("bad number", code=code, status=400))
    dispatcher.run_pass()
    db.expire_all()
    client = db.get(Client, c.id)
    assert client.phone_undeliverable_at is not None
    assert str(code) in (client.phone_undeliverable_reason or "")
    assert {r.status for r in rows(db, client_id=c.id, kind="reminder_2h")} == {"suppressed"}
    items = db.scalars(select(InboxItem).where(InboxItem.client_id == c.id)).all()
    assert [(i.kind, i.status, i.office_id) for i in items] == [
        ("undeliverable_phone", "open", c.home_office_id)
    ]


def test_rate_limited_send_retries_with_backoff(db, tctx, clock, dispatcher, gateway):
    c = factories.client(db, tctx)
    book(db, tctx, client_obj=c)
    gateway.fail_next(SmsError("too many requests", code=20429, status=429))
    assert dispatcher.run_pass().retried == 1
    (row,) = rows(db, client_id=c.id, kind="booking_confirmation")
    assert row.status == "pending" and row.error_code == 20429 and row.attempts == 1
    assert row.next_attempt_at is not None and row.next_attempt_at > clock.now
    assert dispatcher.run_pass().sent == 0  # not before its time
    clock.now = row.next_attempt_at
    assert dispatcher.run_pass().sent == 1
    (row,) = rows(db, client_id=c.id, kind="booking_confirmation")
    assert row.status == "sent" and row.attempts == 2 and row.error is None


def test_unreachable_handset_is_retried_a_limited_number_of_times(
    db, tctx, clock, dispatcher, gateway
):
    c = factories.client(db, tctx)
    book(db, tctx, client_obj=c)
    gateway.fail_for(c.phone, SmsError("unreachable", code=30003, status=400))
    for _ in range(5):
        dispatcher.run_pass()
        (row,) = rows(db, client_id=c.id, kind="booking_confirmation")
        if row.next_attempt_at is not None:
            clock.now = max(clock.now, row.next_attempt_at)
    assert (row.status, row.attempts, row.error_code) == ("failed", 3, 30003)
    assert gateway.attempts == 3


def test_lost_reply_is_reconciled_not_resent(db, tctx, container, dispatcher, gateway):
    c = factories.client(db, tctx)
    book(db, tctx, client_obj=c)
    gateway.fail_next(SmsOutcomeUnknown("read timeout"), delivered=True)
    assert dispatcher.run_pass().unknown == 1
    (row,) = rows(db, client_id=c.id, kind="booking_confirmation")
    assert row.status == "sending" and row.claimed_by is None
    assert dispatcher.run_pass().sent == 0  # nothing is resent while the outcome is unknown
    with container.sessions.begin() as other:
        stats = reconcile(
            other,
            gateway,
            claim_timeout=timedelta(minutes=2),
            worker="r",
            now=row.next_attempt_at,
        )
    assert stats.found_sent == 1
    (row,) = rows(db, client_id=c.id, kind="booking_confirmation")
    assert row.status == "sent" and row.provider_sid == gateway.sent[0].sid
    assert len(gateway.sent) == 1
    assert dispatcher.run_pass().sent == 0


def test_a_retry_after_an_undelivered_report_is_not_mistaken_for_the_first_send(
    db, tctx, clock, container, dispatcher, gateway
):
    """The first attempt went out and was reported undelivered (30003); the retry's reply is
    lost and it never arrived. The first message, same number and words, is not the retry's."""
    from scheduler.texts.outcomes import apply_status

    c = factories.client(db, tctx)
    book(db, tctx, client_obj=c)
    assert dispatcher.run_pass().sent >= 1
    (row,) = rows(db, client_id=c.id, kind="booking_confirmation")
    first_sid = row.provider_sid
    with container.sessions.begin() as other:
        assert apply_status(other, sid=first_sid, status="undelivered", error_code=30003) == (
            "pending"
        )
    (row,) = rows(db, id=row.id)
    clock.now = max(clock.now, row.next_attempt_at)
    gateway.fail_next(SmsOutcomeUnknown("connection reset"), delivered=False)
    assert dispatcher.run_pass().unknown == 1
    (row,) = rows(db, id=row.id)
    with container.sessions.begin() as other:
        stats = reconcile(
            other, gateway, claim_timeout=timedelta(minutes=2), worker="r", now=row.next_attempt_at
        )
    assert (stats.found_sent, stats.requeued) == (0, 1)
    assert dispatcher.run_pass().sent == 1
    (row,) = rows(db, id=row.id)
    assert row.status == "sent" and row.provider_sid not in (None, first_sid)
    assert [r.to for r in gateway.sent].count(c.phone) == 2


def test_request_that_never_arrived_is_sent_again_after_reconciling(
    db, tctx, container, dispatcher, gateway
):
    c = factories.client(db, tctx)
    book(db, tctx, client_obj=c)
    gateway.fail_next(SmsOutcomeUnknown("connection reset"), delivered=False)
    dispatcher.run_pass()
    (row,) = rows(db, client_id=c.id, kind="booking_confirmation")
    with container.sessions.begin() as other:
        stats = reconcile(
            other, gateway, claim_timeout=timedelta(minutes=2), worker="r", now=row.next_attempt_at
        )
    assert stats.requeued == 1
    assert dispatcher.run_pass().sent == 1
    assert len(gateway.sent) == 1


def test_dead_workers_claims_are_settled_by_asking_the_provider(
    db, tctx, container, clock, gateway
):
    from scheduler.sms.gateway import OutboundSms
    from scheduler.texts import claim

    c1 = factories.client(db, tctx)
    c2 = factories.client(db, tctx)
    book(db, tctx, client_obj=c1)
    book(db, tctx, client_obj=c2)
    with container.sessions.begin() as other:
        result = claim.claim_batch(
            other, tctx, worker="dead", limit=10, horizon=5, known_senders=set()
        )
    assert len(result.claimed) == 2
    # The dead worker got one text out before it died, and never recorded it.
    sent_one = result.claimed[0]
    gateway.send(OutboundSms(to=sent_one.to, body=sent_one.body))
    with container.sessions.begin() as other:
        early = reconcile(other, gateway, claim_timeout=timedelta(minutes=2), worker="r")
    assert early.found_sent == early.requeued == 0  # the claim is still young
    with container.sessions.begin() as other:
        stats = reconcile(
            other,
            gateway,
            claim_timeout=timedelta(minutes=2),
            worker="r",
            now=datetime.now(UTC) + timedelta(minutes=3),
        )
    assert (stats.found_sent, stats.requeued) == (1, 1)
    d = Dispatcher(container.sessions, tctx, gateway, worker_id="alive")
    try:
        assert d.run_pass().sent == 1
    finally:
        d.close()
    counts = {c1.phone: 0, c2.phone: 0}
    for record in gateway.sent:
        counts[record.to] += 1
    assert counts == {c1.phone: 1, c2.phone: 1}


def test_expired_pending_texts_are_closed_with_a_reason(db, tctx, clock, container):
    from scheduler.texts.reconcile import expire_pending

    series = book(db, tctx)
    (row,) = rows(db, series_id=series.id, kind="booking_confirmation")
    with container.sessions.begin() as other:
        assert expire_pending(other, row.expires_at + timedelta(seconds=1)) >= 1
    (row,) = rows(db, series_id=series.id, kind="booking_confirmation")
    assert (row.status, row.reason) == ("suppressed", "expired before it could be sent")
