"""Planning texts in the booking/change transaction, re-planning, suppression, and the words."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.db.models import Client, OutboundMessage, TherapySession
from scheduler.domain.sms import encoding_for, segment_count
from scheduler.services import session_changes
from scheduler.texts import observer
from scheduler.texts.wording import TextFacts, render
from tests import factories
from tests.integration.dispatch_support import book, rows

LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def tctx(ctx, clock):
    # Shadows the dispatcher's (conftest): planning tests keep the configured sender cap.
    return replace(ctx, clock=clock)


def open_rows(db, series_id: int) -> list[OutboundMessage]:
    return [r for r in rows(db, series_id=series_id) if r.status in ("pending", "suppressed")]


def assert_one_open_row_per_key(db, series_id: int) -> None:
    keys = Counter(
        (r.session_id, r.kind)
        for r in open_rows(db, series_id)
        if r.kind not in ("session_changed", "session_cancelled", "series_cancelled")
    )
    assert [k for k, n in keys.items() if n > 1] == []


def local(dt: datetime) -> datetime:
    return dt.astimezone(LA)


def test_booking_plans_the_whole_series_in_the_same_transaction(db, tctx):
    series = book(db, tctx)
    kinds = Counter(r.kind for r in rows(db, series_id=series.id))
    assert kinds == {
        "booking_confirmation": 1,
        "reminder_24h": 12,
        "reminder_2h": 12,
        "goal_prompt": 11,
        "closing": 1,
        "measure_link": 4,  # the measure plan: visits 1, 4, 8 and 12 (the last)
    }
    first, last = series.sessions[0], series.sessions[-1]
    by_kind = {r.kind: r for r in rows(db, session_id=first.id)}
    assert by_kind["booking_confirmation"].send_at == tctx.clock()
    assert local(by_kind["reminder_24h"].send_at) == datetime(2027, 2, 22, 17, tzinfo=LA)  # 48h
    assert local(by_kind["reminder_2h"].send_at) == datetime(2027, 2, 24, 15, tzinfo=LA)
    assert local(by_kind["goal_prompt"].send_at) == datetime(2027, 2, 26, 10, tzinfo=LA)
    assert by_kind["goal_prompt"].expires_at == series.sessions[1].starts_at
    (closing,) = rows(db, session_id=last.id, kind="closing")
    assert local(closing.send_at).date() == local(last.starts_at).date() + timedelta(days=1)
    assert all(r.session_revision == 0 for r in rows(db, series_id=series.id))


def test_reschedule_moves_the_reminders_and_adds_one_notice(db, tctx):
    series = book(db, tctx)
    second = series.sessions[1]
    session_changes.reschedule(db, tctx, second.id, datetime(2027, 3, 4, 9, 0), actor="desk")
    db.commit()
    mine = {r.kind: r for r in rows(db, session_id=second.id) if r.status == "pending"}
    moved = datetime(2027, 3, 4, 9, tzinfo=LA)
    # 07:00 is quiet, so the 2-hour reminder moves to the last allowed minute the evening before.
    assert local(mine["reminder_2h"].send_at) == datetime(2027, 3, 3, 20, 59, tzinfo=LA)
    assert local(mine["reminder_24h"].send_at) == datetime(2027, 3, 2, 9, tzinfo=LA)  # 48h
    assert mine["session_changed"].send_at == tctx.clock()
    assert mine["reminder_24h"].session_starts_at == moved.astimezone(UTC)
    # The goal prompt after the first visit must now come before the moved second visit.
    first_prompt = next(
        r for r in rows(db, session_id=series.sessions[0].id) if r.kind == "goal_prompt"
    )
    assert first_prompt.expires_at == moved.astimezone(UTC)
    assert_one_open_row_per_key(db, series.id)
    # Moving it again replaces the first notice rather than adding a second one.
    session_changes.reschedule(db, tctx, second.id, datetime(2027, 3, 4, 11, 0), actor="desk")
    db.commit()
    notices = [r for r in rows(db, session_id=second.id) if r.kind == "session_changed"]
    assert sorted(r.status for r in notices) == ["cancelled", "pending"]


def test_early_morning_reminder_moves_to_the_evening_before(db, tctx):
    series = book(db, tctx, at=time(9))
    first = series.sessions[0]
    by_kind = {r.kind: r for r in rows(db, session_id=first.id)}
    # 07:00 is quiet: the 2-hour reminder goes at 20:59 the evening before.
    assert local(by_kind["reminder_2h"].send_at) == datetime(2027, 2, 23, 20, 59, tzinfo=LA)


def test_cancelling_a_visit_suppresses_its_texts_and_tells_the_client(db, tctx):
    series = book(db, tctx)
    third = series.sessions[2]
    old_last_id = series.sessions[-1].id
    session_changes.cancel(db, tctx, third.id, cancelled_by="practice", actor="desk")
    db.commit()
    mine = rows(db, session_id=third.id)
    planned = [r for r in mine if r.kind in ("reminder_24h", "reminder_2h", "goal_prompt")]
    assert {(r.status, r.reason) for r in planned} == {("suppressed", "session is cancelled")}
    (notice,) = [r for r in mine if r.kind == "session_cancelled"]
    assert notice.status == "pending" and notice.expires_at == third.starts_at
    # The make-up week at the end is now the last visit and gets the closing text.
    db.expire_all()
    sessions = db.scalars(
        select(TherapySession)
        .where(TherapySession.series_id == series.id, TherapySession.status == "scheduled")
        .order_by(TherapySession.starts_at)
    ).all()
    make_up = sessions[-1]
    assert make_up.is_make_up
    kinds = {r.kind: r.status for r in rows(db, session_id=make_up.id)}
    assert kinds["closing"] == "pending" and kinds["reminder_2h"] == "pending"
    old_closing = [r for r in rows(db, session_id=old_last_id) if r.kind == "closing"]
    assert [r.status for r in old_closing] == ["cancelled"]
    assert_one_open_row_per_key(db, series.id)


def test_ending_a_series_sends_one_notice(db, tctx):
    series = book(db, tctx)
    session_changes.cancel_rest(
        db, tctx, series.id, cancelled_by="client", reason=None, actor="desk"
    )
    db.commit()
    assert rows(db, series_id=series.id, kind="session_cancelled") == []
    (notice,) = rows(db, series_id=series.id, kind="series_cancelled")
    assert notice.facts == {"count": 12, "first": series.sessions[0].starts_at.isoformat()}
    pending = [r for r in rows(db, series_id=series.id) if r.status == "pending"]
    assert [r.kind for r in pending] == ["series_cancelled"]


def test_renegotiating_moves_the_closing_text(db, tctx):
    series = book(db, tctx)
    session_changes.renegotiate(db, tctx, series.id, 10, actor="desk")
    db.commit()
    tenth = series.sessions[9]
    closing = [r for r in rows(db, series_id=series.id, kind="closing") if r.status == "pending"]
    assert [r.session_id for r in closing] == [tenth.id]
    prompts = rows(db, session_id=tenth.id, kind="goal_prompt")
    assert [r.status for r in prompts] == ["cancelled"]


def test_an_attended_visit_keeps_its_goal_prompt(db, tctx, clock):
    series = book(db, tctx)
    first = series.sessions[0]
    clock.now = first.ends_at
    session_changes.mark(db, tctx, first.id, "attended", actor="therapist")
    db.commit()
    (prompt,) = rows(db, session_id=first.id, kind="goal_prompt")
    assert prompt.status == "pending"


def test_replanning_is_idempotent(db, tctx):
    series = book(db, tctx)
    assert observer.replan_series(db, tctx, series.id) == 0
    assert observer.replan_client(db, tctx, series.client_id) == 0


def test_consent_granted_later_is_planned_by_replan_client(db, tctx):
    c = factories.client(db, tctx, sms_consent=False, goal_prompt_consent=False)
    series = book(db, tctx, client_obj=c)
    assert {r.status for r in rows(db, series_id=series.id)} == {"suppressed"}
    client = db.get(Client, c.id)
    client.sms_consent = True
    db.flush()
    changed = observer.replan_client(db, tctx, c.id)
    assert changed > 0
    statuses = Counter((r.kind, r.status) for r in rows(db, series_id=series.id))
    assert statuses[("reminder_2h", "pending")] == 12
    assert statuses[("goal_prompt", "suppressed")] == 11  # goal prompts still need their consent


def test_suppress_pending_for_client(db, tctx):
    series = book(db, tctx)
    pending = sum(r.status == "pending" for r in rows(db, series_id=series.id))
    assert observer.suppress_pending_for_client(db, series.client_id, "opted_out") == pending
    assert {r.status for r in rows(db, series_id=series.id)} == {"suppressed"}
    assert observer.suppress_pending_for_client(db, series.client_id, "opted_out") == 0


def test_caps_hold_across_two_series_of_one_client(db, tctx):
    c = factories.client(db, tctx)
    book(db, tctx, client_obj=c, first=date(2027, 2, 22), at=time(17))  # Mondays
    book(db, tctx, client_obj=c, first=date(2027, 2, 24), at=time(12))  # Wednesdays
    live = sorted(
        local(r.send_at).date() for r in rows(db, client_id=c.id) if r.status == "pending"
    )
    per_day = Counter(live)
    assert max(per_day.values()) <= 2
    for start in {d - timedelta(days=k) for d in live for k in range(7)}:
        window = sum(n for d, n in per_day.items() if start <= d < start + timedelta(days=7))
        assert window <= 4, start
    capped = [r for r in rows(db, client_id=c.id) if r.reason in ("daily cap", "weekly cap")]
    assert capped


# --- the words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        "booking_confirmation",
        "session_changed",
        "session_cancelled",
        "reminder_24h",
        "reminder_2h",
        "closing",
        "help",
    ],
)
def test_every_office_renders_one_segment_with_the_longest_name(locations, kind):
    worst_when = datetime(2027, 9, 30, 20, 30, tzinfo=UTC)  # Wed Sep 30, 12:30 PM AKDT
    for office in locations.locations:
        text = render(
            TextFacts(
                kind=kind,
                first_name="Maximiliana-Josephine Rose",
                client_zone="America/Anchorage",
                office=office,
                practice=locations.practice,
                number=20,
                session_count=20,
                starts_at=worst_when,
            )
        )
        assert "12:30 PM AKDT" in text or kind in ("closing", "help")
        assert encoding_for(text) == "GSM-7"
        assert segment_count(text) == 1, (office.id, len(text), text)


def test_a_name_in_another_script_keeps_the_reminder_in_one_segment(locations):
    text = render(
        TextFacts(
            kind="reminder_24h",
            first_name="王小明",
            client_zone="America/Chicago",
            office=locations["dallas"],
            practice=locations.practice,
            number=3,
            session_count=12,
            starts_at=datetime(2027, 3, 10, 23, tzinfo=UTC),
        )
    )
    assert text.startswith("Hi there, visit 3 of 12 is Wed Mar 10, 5:00 PM CST at Dallas.")
    assert segment_count(text) == 1
    # Counting itself is right for UCS-2: 70 units fit one segment, a surrogate pair is two.
    assert segment_count("王" * 70) == 1 and segment_count("王" * 71) == 2
    assert segment_count("😀" * 35) == 1 and segment_count("😀" * 36) == 2


def test_goal_prompt_quotes_the_goal_only_with_detailed_consent(locations):
    facts = TextFacts(
        kind="goal_prompt",
        first_name="Casey",
        client_zone="America/Chicago",
        office=locations["dallas"],
        practice=locations.practice,
        prompt_text="Who did you talk with this week?",
        weekly_goal="Call my sister on Sunday",
    )
    assert "your goal this week: Call my sister on Sunday." in render(facts)
    plain = render(replace(facts, weekly_goal=None))
    assert plain.startswith("Hi Casey, Who did you talk with this week?")
