"""What changes between a text's claim and its send stops it: the checks made under lock.

A claim fixes a text's words and slot; the send comes up to a few seconds later, after other
transactions may have cancelled the session or the clock may have crossed into quiet hours.
Each test makes that change from `before_send` (between claim and send). A session *moved*
after claim is tested in test_dispatch.py (test_reschedule_racing_a_dispatch_pass_...), and a
STOP after claim with the phone-consent tests.
"""

from __future__ import annotations

from datetime import date, timedelta

from scheduler.services import session_changes
from scheduler.texts.send import Dispatcher
from tests.integration.dispatch_support import at_local, book, rows


def run_with(container, tctx, gateway, before_send) -> None:
    d = Dispatcher(container.sessions, tctx, gateway, worker_id="w", before_send=before_send)
    try:
        d.run_pass()
    finally:
        d.close()


def test_a_session_cancelled_after_its_reminder_was_claimed_gets_no_reminder(
    db, container, tctx, clock, dispatcher, gateway
):
    series = book(db, tctx)
    dispatcher.run_pass()  # the booking confirmation
    first = series.sessions[0]
    (reminder,) = rows(db, session_id=first.id, kind="reminder_24h")
    clock.now = reminder.send_at
    cancelled: list[int] = []

    def cancel_meanwhile(claimed):
        if not cancelled and any(c.id == reminder.id for c in claimed):
            with container.sessions.begin() as other:
                session_changes.cancel(
                    other, tctx, first.id, cancelled_by="client", make_up=False, actor="desk"
                )
            cancelled.append(1)

    run_with(container, tctx, gateway, cancel_meanwhile)
    assert cancelled, "the reminder was never claimed: nothing was tested"
    bodies = [m.body for m in gateway.messages[1:]]
    assert not [b for b in bodies if "visit 1 of 12 is Wed Feb 24" in b], bodies
    (reminder,) = rows(db, session_id=first.id, kind="reminder_24h")
    assert reminder.status in ("suppressed", "cancelled"), reminder.status
    assert reminder.provider_sid is None
    assert [b for b in bodies if "cancel" in b.lower()], "the cancellation notice goes out"


def test_quiet_hours_reached_after_claim_hold_the_text_until_morning(
    db, container, tctx, clock, gateway
):
    # Booked at 20:59:59 at the client's (Seattle): the confirmation is due and claimed...
    clock.now = at_local(date(2027, 2, 15), 20, 59) + timedelta(seconds=59)
    c_series = book(db, tctx)
    crossed: list[int] = []

    def quiet_hours_begin(claimed):
        # ...and by the time it would leave, quiet hours (21:00-08:00) have begun.
        if not crossed:
            clock.now = at_local(date(2027, 2, 15), 21, 0) + timedelta(seconds=1)
            crossed.append(len(claimed))

    run_with(container, tctx, gateway, quiet_hours_begin)
    assert crossed and crossed[0] >= 1, "nothing was claimed: nothing was tested"
    assert gateway.messages == []
    (row,) = rows(db, series_id=c_series.id, kind="booking_confirmation")
    assert row.status == "pending" and row.attempts == 0
    assert row.next_attempt_at == at_local(date(2027, 2, 16), 8)
    clock.now = row.next_attempt_at
    run_with(container, tctx, gateway, None)
    assert len(gateway.messages) == 1
