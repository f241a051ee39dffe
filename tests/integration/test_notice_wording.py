"""Notices tell what was true at the change that caused them, not what a session says later."""

from __future__ import annotations

from datetime import date, datetime, time

from scheduler.domain.ipt import clinical_words_in
from scheduler.domain.sms import encoding_for, segment_count
from scheduler.services import session_changes
from tests.integration.dispatch_support import book, rows


def sent_bodies(dispatcher, gateway) -> list[str]:
    dispatcher.run_pass()
    return [m.body for m in gateway.messages]


def assert_fits(body: str) -> None:
    assert encoding_for(body) == "GSM-7" and segment_count(body) <= 2, body
    assert clinical_words_in(body) == [], body


def test_confirmation_names_pattern_range_and_closed_weeks(db, tctx, dispatcher, gateway):
    # Mondays from Feb 22, 2027: Memorial Day (May 31) is skipped and a week added at the end.
    series = book(db, tctx, first=date(2027, 2, 22), count=16)
    (body,) = sent_bodies(dispatcher, gateway)
    assert body == (
        "Hi Casey, you're booked at Seattle: 16 visits, every Monday at 5:00 PM PST, "
        "Feb 22 to Jun 14. No visit May 31: office closed. Reply STOP to opt out."
    )
    assert_fits(body)
    (row,) = rows(db, series_id=series.id, kind="booking_confirmation")
    assert row.facts["skipped"] == ["2027-05-31"] and row.facts["first_change"] is None


def test_confirmation_not_yet_sent_tells_a_moved_first_visit(db, tctx, dispatcher, gateway):
    series = book(db, tctx)
    first = series.sessions[0]
    session_changes.reschedule(db, tctx, first.id, datetime(2027, 2, 25, 18, 0), actor="desk")
    db.commit()
    (body,) = sent_bodies(dispatcher, gateway)
    # The pattern is still the series' (Wednesdays), and the move is in the same text.
    assert body == (
        "Hi Casey, you're booked at Seattle: 12 visits, every Wednesday at 5:00 PM PST, "
        "Feb 24 to May 12. Your Feb 24 visit moved to Thu Feb 25, 6:00 PM PST. "
        "Reply STOP to opt out."
    )
    assert_fits(body)
    assert rows(db, series_id=series.id, kind="session_changed") == []


def test_confirmation_not_yet_sent_tells_a_cancelled_first_visit(db, tctx, dispatcher, gateway):
    series = book(db, tctx)
    first = series.sessions[0]
    session_changes.cancel(db, tctx, first.id, cancelled_by="practice", actor="desk")
    db.commit()
    (body,) = sent_bodies(dispatcher, gateway)
    # A practice cancellation gets a make-up week: still 12 visits, now ending May 19.
    assert body == (
        "Hi Casey, you're booked at Seattle: 12 visits, every Wednesday at 5:00 PM PST, "
        "Feb 24 to May 19. Your Feb 24 visit is cancelled; the first is now "
        "Wed Mar 3, 5:00 PM PST. Reply STOP to opt out."
    )
    assert_fits(body)
    assert rows(db, series_id=series.id, kind="session_cancelled") == []


def test_a_later_visit_moved_before_the_confirmation_gets_its_own_notice(
    db, tctx, dispatcher, gateway
):
    series = book(db, tctx)
    third = series.sessions[2]
    session_changes.reschedule(db, tctx, third.id, datetime(2027, 3, 11, 17, 0), actor="desk")
    db.commit()
    bodies = sent_bodies(dispatcher, gateway)
    assert "every Wednesday" in bodies[0] and "moved" not in bodies[0]
    assert bodies[1] == (
        "Hi Casey, your visit 3 of 12 at Seattle moved from Wed Mar 10, 5:00 PM PST to "
        "Thu Mar 11, 5:00 PM PST. Questions? (206) 555-0190. Reply STOP to opt out."
    )


def test_a_move_text_keeps_the_time_the_client_knows(db, tctx, dispatcher, gateway):
    series = book(db, tctx)
    dispatcher.run_pass()  # the confirmation
    third = series.sessions[2]
    session_changes.reschedule(db, tctx, third.id, datetime(2027, 3, 11, 17, 0), actor="desk")
    session_changes.reschedule(db, tctx, third.id, datetime(2027, 3, 12, 17, 0), actor="desk")
    db.commit()
    bodies = sent_bodies(dispatcher, gateway)[1:]
    # Two moves before the notice went out: one text, from the time the client was told.
    assert bodies == [
        "Hi Casey, your visit 3 of 12 at Seattle moved from Wed Mar 10, 5:00 PM PST to "
        "Fri Mar 12, 5:00 PM PST. Questions? (206) 555-0190. Reply STOP to opt out."
    ]


def test_moved_back_before_the_notice_went_out_sends_nothing(db, tctx, dispatcher, gateway):
    series = book(db, tctx)
    dispatcher.run_pass()
    third = series.sessions[2]
    session_changes.reschedule(db, tctx, third.id, datetime(2027, 3, 11, 17, 0), actor="desk")
    session_changes.reschedule(db, tctx, third.id, datetime(2027, 3, 10, 17, 0), actor="desk")
    db.commit()
    assert sent_bodies(dispatcher, gateway)[1:] == []
    notices = rows(db, session_id=third.id, kind="session_changed")
    assert [r.status for r in notices] == ["cancelled"]


def test_changing_n_sends_the_new_count_and_last_date(db, tctx, dispatcher, gateway):
    series = book(db, tctx)
    dispatcher.run_pass()
    session_changes.renegotiate(db, tctx, series.id, 14, actor="desk")
    db.commit()
    bodies = sent_bodies(dispatcher, gateway)[1:]
    assert bodies == [
        "Hi Casey, you now have 14 visits in all at Seattle, the last on "
        "Wed May 26, 5:00 PM PDT. Questions? (206) 555-0190. Reply STOP to opt out."
    ]
    assert_fits(bodies[0])
    # The same N again tells the client nothing new.
    session_changes.renegotiate(db, tctx, series.id, 14, actor="desk")
    db.commit()
    assert rows(db, series_id=series.id, kind="series_changed")[-1].status == "sent"
    assert len(rows(db, series_id=series.id, kind="series_changed")) == 1


def test_changing_n_before_the_confirmation_is_told_in_it(db, tctx, dispatcher, gateway):
    series = book(db, tctx)
    session_changes.renegotiate(db, tctx, series.id, 10, actor="desk")
    db.commit()
    (body,) = sent_bodies(dispatcher, gateway)
    assert "10 visits, every Wednesday at 5:00 PM PST, Feb 24 to Apr 28." in body
    assert rows(db, series_id=series.id, kind="series_changed") == []


def test_cancelling_the_rest_sends_one_notice_for_all_of_it(db, tctx, dispatcher, gateway):
    series = book(db, tctx)
    dispatcher.run_pass()
    third = series.sessions[2]
    session_changes.reschedule(db, tctx, third.id, datetime(2027, 3, 11, 17, 0), actor="desk")
    session_changes.cancel_rest(
        db, tctx, series.id, cancelled_by="client", reason=None, actor="desk"
    )
    db.commit()
    bodies = sent_bodies(dispatcher, gateway)[1:]
    # The waiting move notice is moot: one text says the rest is off.
    assert bodies == [
        "Hi Casey, your 12 remaining visits at Seattle, from Wed Feb 24, 5:00 PM PST, are "
        "cancelled. Questions? Call (206) 555-0190. Reply STOP to opt out."
    ]
    assert_fits(bodies[0])


def test_a_maintenance_cadence_is_named(db, tctx, dispatcher, gateway):
    course = book(db, tctx, count=12)
    maintenance = book(
        db,
        tctx,
        first=date(2027, 6, 2),
        at=time(17),
        count=3,
        kind="maintenance",
        cadence_weeks=4,
        continues_series_id=course.id,
        client_obj=course.client,
        therapist_obj=course.therapist,
    )
    dispatcher.run_pass()
    (row,) = rows(db, series_id=maintenance.id, kind="booking_confirmation")
    assert "3 visits, every 4 weeks on Wednesday at 5:00 PM PDT, Jun 2 to Jul 28." in row.body


def test_visit_one_moved_past_visit_two_is_named_where_it_went(db, tctx, dispatcher, gateway):
    series = book(db, tctx)
    first = series.sessions[0]
    session_changes.reschedule(db, tctx, first.id, datetime(2027, 3, 4, 17, 0), actor="desk")
    db.commit()
    (body,) = sent_bodies(dispatcher, gateway)
    assert "Your Feb 24 visit moved to Thu Mar 4, 5:00 PM PST." in body, body
