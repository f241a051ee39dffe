"""The counters: texts by kind, office and outcome where a batch is recorded; bookings and
changes only once their transaction commits. On SQLite and, with TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

from prometheus_client import REGISTRY

from scheduler.services import session_changes
from tests.integration.dispatch_support import book


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_booking_counts_when_it_commits_and_its_confirmation_when_sent(
    db, tctx, dispatcher
) -> None:
    booked = value("ipt_bookings_total", office="seattle", kind="acute")
    sent = value("ipt_texts_total", kind="booking_confirmation", office="seattle", outcome="sent")
    book(db, tctx)
    assert value("ipt_bookings_total", office="seattle", kind="acute") == booked + 1
    assert dispatcher.run_pass().sent == 1
    after = value("ipt_texts_total", kind="booking_confirmation", office="seattle", outcome="sent")
    assert after == sent + 1


def test_a_booking_rolled_back_is_not_counted(db, tctx) -> None:
    booked = value("ipt_bookings_total", office="seattle", kind="acute")
    cancelled = value("ipt_session_changes_total", office="seattle", change="cancelled")
    series = book(db, tctx)
    session = series.sessions[1]
    session_changes.cancel(db, tctx, session.id, cancelled_by="client", actor="test")
    db.rollback()
    assert value("ipt_session_changes_total", office="seattle", change="cancelled") == cancelled
    assert value("ipt_bookings_total", office="seattle", kind="acute") == booked + 1
    # And one that commits counts.
    session_changes.cancel(db, tctx, session.id, cancelled_by="client", actor="test")
    db.commit()
    assert value("ipt_session_changes_total", office="seattle", change="cancelled") == cancelled + 1
