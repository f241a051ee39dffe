"""The course's texts: the private questionnaire link (planned 24 hours ahead, worded at send
time, its token never stored) and termination reminders that count the visits left."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import select

from scheduler.db.models import MeasureForm
from scheduler.services import measures
from scheduler.sms.gateway import SmsOutcomeUnknown
from scheduler.texts.reconcile import reconcile
from tests.integration.dispatch_support import book, rows

_URL = re.compile(r"https://ipt\.example\.test/m/([A-Za-z0-9_-]{43})")


def links(db, series):
    return [r for r in rows(db, series_id=series.id, kind="measure_link")]


def test_links_are_planned_a_day_before_the_plans_questionnaire_visits(db, tctx):
    series = book(db, tctx)
    planned = {r.session_id: r for r in links(db, series)}
    by_number = {s.number: s for s in series.sessions}
    assert set(planned) == {by_number[n].id for n in (1, 4, 8, 12)}
    for number in (1, 4, 8):
        session = by_number[number]
        row = planned[session.id]
        assert (number, row.status, row.reason) == (number, "pending", None)
        assert row.body is None
        assert row.send_at == session.starts_at - timedelta(hours=24)
        assert row.expires_at == session.starts_at
    # Before the last visit the week is full (its reminders, the closing text, the goal prompt
    # of the week before): the link is the text that gives way, and the questionnaire is
    # handed over in the office.
    last = planned[by_number[12].id]
    assert (last.status, last.reason) == ("suppressed", "weekly cap")


def test_link_goes_out_with_a_working_token_that_is_never_stored(
    db, tctx, clock, dispatcher, gateway
):
    series = book(db, tctx)
    dispatcher.run_pass()  # the booking confirmation
    first = series.sessions[0]
    (row,) = [r for r in links(db, series) if r.session_id == first.id]
    clock.now = row.send_at
    dispatcher.run_pass()
    body = next(m.body for m in gateway.messages if "/m/" in m.body)
    token = _URL.search(body).group(1)
    assert body.startswith("Hi Casey, a few short questions before your visit Wed Feb 24")
    (row,) = [r for r in links(db, series) if r.session_id == first.id]
    assert row.status == "sent" and "[link:" in row.body and token not in row.body
    form = db.scalar(select(MeasureForm).where(MeasureForm.session_id == first.id))
    assert form.purpose == "link" and form.expires_at == first.ends_at
    assert form.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(form.nonce)
    clock.now += timedelta(minutes=1)
    assert dispatcher.run_pass().sent == 0


def test_a_questionnaire_answered_in_the_office_stops_its_link(db, tctx, clock, dispatcher):
    series = book(db, tctx)
    first = series.sessions[0]
    clock.now = first.starts_at - timedelta(days=3)
    measures.record(db, tctx, first.id, "phq9", [0] * 9, source="staff", actor="t")
    db.commit()
    clock.now = first.starts_at - timedelta(hours=24)
    dispatcher.run_pass()
    (row,) = [r for r in links(db, series) if r.session_id == first.id]
    assert (row.status, row.reason) == ("suppressed", "no questionnaire is due any more")
    assert db.scalar(select(MeasureForm)) is None


def test_changing_the_measure_plan_replans_the_links(db, tctx):
    series = book(db, tctx)
    measures.change_plan(db, tctx, series.id, schedule="none", gad7=None, actor="t")
    db.commit()
    assert {r.status for r in links(db, series)} == {"cancelled"}
    measures.change_plan(db, tctx, series.id, schedule="every_session", gad7=None, actor="t")
    db.commit()
    planned = [r for r in links(db, series) if r.status in ("pending", "suppressed")]
    assert len({r.session_id for r in planned}) == 12
    assert [r.reason for r in planned if r.status == "suppressed"] == ["weekly cap"]  # the last


def test_a_lost_reply_on_a_link_is_reconciled_by_the_worded_body(
    db, tctx, clock, container, dispatcher, gateway
):
    series = book(db, tctx)
    dispatcher.run_pass()
    (row,) = [r for r in links(db, series) if r.session_id == series.sessions[0].id]
    clock.now = row.send_at - timedelta(minutes=1)
    dispatcher.run_pass()  # the reminder before it
    clock.now = row.send_at
    gateway.fail_next(SmsOutcomeUnknown("read timeout"), delivered=True)
    dispatcher.run_pass()
    (row,) = [r for r in links(db, series) if r.session_id == series.sessions[0].id]
    assert row.status == "sending"
    with container.sessions.begin() as other:
        stats = reconcile(
            other,
            gateway,
            claim_timeout=timedelta(minutes=2),
            worker="r",
            now=row.next_attempt_at,
            settings=tctx.settings,
        )
    assert stats.found_sent == 1  # matched with the link worded: nothing is sent twice
    assert len([m for m in gateway.sent if "/m/" in m.body]) == 1


def test_termination_reminders_count_the_visits_left(db, tctx, clock, dispatcher, gateway):
    series = book(db, tctx)  # 12 visits: termination from visit 10
    dispatcher.run_pass()
    by_number = {s.number: s for s in series.sessions}
    expected = {
        9: "visit 9 of 12 is Wed",
        10: "visit 10 of 12, 2 left: Wed",
        11: "visit 11 of 12, 1 left: Wed",
        12: "visit 12 of 12 is Wed",
    }
    for number, words in expected.items():
        (reminder,) = rows(db, session_id=by_number[number].id, kind="reminder_24h")
        clock.now = reminder.send_at
        dispatcher.run_pass()
        bodies = [m.body for m in gateway.messages if f"visit {number} of 12" in m.body]
        assert len(bodies) == 1 and words in bodies[0], (number, bodies)
