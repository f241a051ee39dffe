"""The dispatcher against a real database: claims, send-time checks, pacing, fairness, stopping."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from scheduler.db.models import OutboundMessage
from scheduler.services import session_changes
from scheduler.sms.fake import FakeGateway
from scheduler.texts.send import Dispatcher
from tests import factories
from tests.integration.dispatch_support import at_local, book, rows


def test_booking_confirmation_goes_out_once(db, tctx, dispatcher, gateway):
    series = book(db, tctx)
    stats = dispatcher.run_pass()
    assert stats.sent == 1, stats
    (message,) = gateway.messages
    assert message.body == (
        "Hi Casey, you're booked at Seattle: 12 visits, every Wednesday at 5:00 PM PST, "
        "Feb 24 to May 12. Reply STOP to opt out."
    )
    assert message.from_number == "+12065550191"  # Seattle's sender
    assert message.status_callback == "https://ipt.example.test/webhooks/twilio/status"
    assert message.validity_period_s == 36000  # useful until the first visit; Twilio's max
    (row,) = rows(db, kind="booking_confirmation")
    assert row.status == "sent" and row.provider_sid == gateway.sent[0].sid
    assert row.series_id == series.id
    assert dispatcher.run_pass().sent == 0
    assert len(gateway.messages) == 1


def test_reminder_renders_at_send_time_and_is_sent_once(db, tctx, clock, dispatcher, gateway):
    series = book(db, tctx)
    dispatcher.run_pass()  # the confirmation
    first = series.sessions[0]
    (reminder,) = rows(db, session_id=first.id, kind="reminder_24h")
    # Seattle reminds 48 hours ahead.
    assert reminder.send_at == at_local(date(2027, 2, 22), 17)
    assert reminder.status == "pending" and reminder.body is None
    clock.now = reminder.send_at
    assert dispatcher.run_pass().sent == 1
    assert gateway.messages[-1].body == (
        "Hi Casey, visit 1 of 12 is Wed Feb 24, 5:00 PM PST at Seattle. "
        "Reply C to confirm, R to reschedule. Reply STOP to opt out."
    )
    (reminder,) = rows(db, session_id=first.id, kind="reminder_24h")
    assert reminder.status == "sent" and reminder.body == gateway.messages[-1].body
    assert reminder.to_number == gateway.messages[-1].to and reminder.attempts == 1
    clock.now += timedelta(minutes=5)
    assert dispatcher.run_pass().sent == 0


def test_reschedule_racing_a_dispatch_pass_never_sends_the_stale_text(
    db, container, tctx, clock, gateway
):
    series = book(db, tctx)
    first = series.sessions[0]
    clock.now = at_local(date(2027, 2, 22), 17)  # the 48-hour reminder is due
    raced: list[int] = []

    def reschedule_meanwhile(claimed):
        # The desk moves the visit after the reminder was claimed and rendered.
        if any(c.kind == "reminder_24h" for c in claimed) and not raced:
            with container.sessions.begin() as other:
                session_changes.reschedule(
                    other, tctx, first.id, datetime(2027, 2, 25, 18, 0), actor="desk"
                )
            raced.append(1)

    d = Dispatcher(
        container.sessions, tctx, gateway, worker_id="w", before_send=reschedule_meanwhile
    )
    try:
        d.run_pass()
    finally:
        d.close()
    assert raced
    bodies = [m.body for m in gateway.messages]
    assert not [b for b in bodies if "Wed Feb 24" in b and "visit 1 of 12 is" in b], bodies
    changed = [b for b in bodies if "moved" in b]
    assert changed == [
        "Hi Casey, your visit 1 of 12 at Seattle moved from Wed Feb 24, 5:00 PM PST to "
        "Thu Feb 25, 6:00 PM PST. Questions? (206) 555-0190. Reply STOP to opt out."
    ]
    live = [r for r in rows(db, session_id=first.id, kind="reminder_24h") if r.status == "pending"]
    assert [r.send_at for r in live] == [at_local(date(2027, 2, 23), 18)]
    # And when its new time comes, the reminder carries the new time.
    clock.now = live[0].send_at
    d = Dispatcher(container.sessions, tctx, gateway, worker_id="w2")
    try:
        assert d.run_pass().sent >= 1
    finally:
        d.close()
    assert "visit 1 of 12 is Thu Feb 25, 6:00 PM PST" in gateway.messages[-1].body


def test_no_sms_consent_plans_nothing_and_says_why(db, tctx, dispatcher, gateway):
    c = factories.client(db, tctx, sms_consent=False, goal_prompt_consent=False)
    book(db, tctx, client_obj=c)
    planned = rows(db, client_id=c.id)
    assert planned and {r.status for r in planned} == {"suppressed"}
    assert {r.reason for r in planned} == {"no sms_reminders consent"}
    assert dispatcher.run_pass().sent == 0 and gateway.messages == []


def test_goal_prompts_need_their_own_consent(db, tctx):
    c = factories.client(db, tctx, goal_prompt_consent=False)
    series = book(db, tctx, client_obj=c)
    prompts = rows(db, series_id=series.id, kind="goal_prompt")
    assert len(prompts) == 11  # one after every visit but the last
    assert {(r.status, r.reason) for r in prompts} == {("suppressed", "no goal_prompts consent")}
    reminders = rows(db, series_id=series.id, kind="reminder_2h")
    assert {r.status for r in reminders} == {"pending"}


def test_quiet_hours_hold_a_notice_until_morning_in_the_clients_zone(db, tctx, clock):
    # 21:30 in Seattle; the client lives in New York, where it is 00:30.
    clock.now = at_local(date(2027, 2, 15), 21, 30)
    c = factories.client(db, tctx, timezone="America/New_York")
    book(db, tctx, client_obj=c)
    (row,) = rows(db, client_id=c.id, kind="booking_confirmation")
    assert row.send_at == datetime(2027, 2, 16, 13, 0, tzinfo=UTC)  # 08:00 EST


def test_a_late_dispatch_waits_out_quiet_hours(db, tctx, clock, dispatcher, gateway):
    c = factories.client(db, tctx)
    book(db, tctx, client_obj=c)
    # The worker was down: by the time it runs it is 22:00 at the client's.
    clock.now = at_local(date(2027, 2, 15), 22)
    stats = dispatcher.run_pass()
    assert stats.sent == 0 and stats.deferred == 1
    (row,) = rows(db, client_id=c.id, kind="booking_confirmation")
    assert row.next_attempt_at == at_local(date(2027, 2, 16), 8)
    clock.now = row.next_attempt_at
    assert dispatcher.run_pass().sent == 1


def test_sends_keep_to_the_senders_rate(db, ctx, container, clock):
    capped = replace(ctx, settings=replace(ctx.settings, sms_max_per_second=20.0), clock=clock)
    for _ in range(8):
        book(db, capped, client_obj=factories.client(db, capped))
    gateway = FakeGateway()
    # The instants the dispatcher starts each send, from its own clock: a gateway's clock
    # would add the scheduling delay of a busy machine between deciding and sending.
    starts: list[datetime] = []
    d = Dispatcher(
        container.sessions,
        capped,
        gateway,
        worker_id="rate",
        on_start=lambda _c, at: starts.append(at),
    )
    try:
        assert d.run_pass().sent == 8
    finally:
        d.close()
    assert len(starts) == len(gateway.sent) == 8
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sorted(starts))]
    assert min(gaps) >= 0.05 - 1e-6, gaps  # 20 a second: 50 ms apart


def test_a_slow_senders_backlog_does_not_hold_up_other_offices(db, ctx, container, clock):
    # Miami may send one text a second; twenty of its clients are due, then one in Dallas.
    tctx = replace(ctx, clock=clock)
    for _ in range(20):
        c = factories.client(db, tctx, "miami")
        factories.series(
            db, tctx, office="miami", client_obj=c, first=date(2027, 2, 24), at=time(17)
        )
    clock.now += timedelta(minutes=1)
    dallas = factories.client(db, tctx, "dallas")
    factories.series(
        db, tctx, office="dallas", client_obj=dallas, first=date(2027, 2, 24), at=time(17)
    )
    db.commit()
    gateway = FakeGateway()
    # A batch smaller than the backlog: oldest-first alone would take only Miami's texts.
    d = Dispatcher(container.sessions, tctx, gateway, worker_id="fair", horizon=2.0, batch_size=5)
    try:
        started = datetime.now(UTC)
        d.run_pass(max_batches=1)
    finally:
        d.close()
    assert [m.to for m in gateway.messages].count(dallas.phone) == 1
    miami = [r for r in gateway.sent if r.to != dallas.phone]
    assert 1 <= len(miami) <= 3  # two seconds' worth at one a second
    assert (datetime.now(UTC) - started).total_seconds() < 5


def test_stopping_finishes_sends_in_flight_and_gives_back_the_rest(db, ctx, container, clock):
    import threading
    import time as wall

    slow = replace(ctx, settings=replace(ctx.settings, sms_max_per_second=2.0), clock=clock)
    clients = [factories.client(db, slow) for _ in range(6)]
    for c in clients:
        book(db, slow, client_obj=c)
    gateway = FakeGateway(latency=0.2)
    stop = threading.Event()
    d = Dispatcher(container.sessions, slow, gateway, worker_id="stopping", stop=stop)
    runner = threading.Thread(target=d.run_pass)
    runner.start()
    wall.sleep(0.6)  # the second send (0.5 s, taking 0.2 s) is in flight; the rest wait
    stop.set()
    runner.join(timeout=10)
    d.close()
    assert not runner.is_alive()
    confirmations = [rows(db, client_id=c.id, kind="booking_confirmation")[0] for c in clients]
    statuses = Counter(r.status for r in confirmations)
    assert statuses["sent"] == len(gateway.sent) >= 1
    assert statuses["sending"] == 0  # nothing left claimed
    assert statuses["pending"] == 6 - statuses["sent"] > 0
    assert all(r.attempts == 0 for r in confirmations if r.status == "pending")


def test_goal_prompts_follow_the_library_without_repeating(db, tctx, clock, dispatcher, gateway):
    from scheduler.domain.ipt import clinical_words_in

    c = factories.client(db, tctx, goal_detail_consent=True)
    series = book(db, tctx, client_obj=c)
    dispatcher.run_pass()  # the confirmation
    session_changes.set_weekly_goal(
        db, series.sessions[1].id, "Call my sister on Sunday", actor="therapist"
    )
    db.commit()
    prompts = []
    for session in series.sessions[:4]:
        (row,) = rows(db, session_id=session.id, kind="goal_prompt")
        clock.now = row.send_at
        dispatcher.run_pass()
        (row,) = rows(db, session_id=session.id, kind="goal_prompt")
        assert row.status == "sent", row.reason
        prompts.append(row)
    ids = [r.prompt_id for r in prompts]
    assert len(set(ids)) == 4 and all(i.startswith("role_transition.") for i in ids)
    assert [i.split(".")[1] for i in ids] == ["initial", "initial", "initial", "middle"]
    for row in prompts:
        assert clinical_words_in(row.body.replace("Call my sister on Sunday", "")) == []
        assert row.body.endswith("Reply STOP to opt out.")
    assert "your goal this week: Call my sister on Sunday." in prompts[1].body
    assert "goal this week" not in prompts[0].body  # no goal was set that week


def test_help_goes_out_at_once_even_at_night_but_a_staff_reply_waits(
    db, tctx, clock, dispatcher, gateway
):
    c = factories.client(db, tctx)
    clock.now = at_local(date(2027, 2, 15), 23)  # quiet hours at the client's
    now = clock.now
    for kind, body in (("reply", "Thanks, we got your message."), ("help", None)):
        db.add(
            OutboundMessage(
                client_id=c.id,
                office_id="seattle",
                kind=kind,
                body=body,
                send_at=now,
                status="pending",
                attempts=0,
            )
        )
    db.commit()
    assert dispatcher.run_pass().sent == 1
    [help_text] = [m.body for m in gateway.messages]
    assert help_text.startswith("Interpersonal Therapy Associates: visit reminders.")
    assert "(206) 555-0190" in help_text
    # The staff-written reply (from the inbox) waits for the client's morning.
    clock.now = at_local(date(2027, 2, 16), 8) + timedelta(minutes=1)
    assert dispatcher.run_pass().sent == 1
    assert gateway.messages[-1].body == "Thanks, we got your message."
