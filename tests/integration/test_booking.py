"""Booking a series against a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.db.models import AuditEntry, OutboundMessage, Series, TherapySession
from scheduler.services import booking
from scheduler.services.errors import Conflict, Invalid
from tests import factories


def offsets(series: Series) -> list[str]:
    return [
        s.starts_at.astimezone(ZoneInfo(s.timezone)).strftime("%H:%M%z") for s in series.sessions
    ]


def test_seattle_series_keeps_local_time_across_spring_forward(db, ctx):
    series = factories.series(db, ctx, office="seattle", first=date(2027, 2, 24), at=time(17))
    seen = offsets(series)
    assert len(seen) == 16
    assert all(o.startswith("17:00") for o in seen)
    before = [s for s in series.sessions if s.local_date < date(2027, 3, 14)]
    after = [s for s in series.sessions if s.local_date >= date(2027, 3, 14)]
    assert before and after
    assert {offsets_one(s) for s in before} == {"-0800"}
    assert {offsets_one(s) for s in after} == {"-0700"}


def offsets_one(s: TherapySession) -> str:
    return s.starts_at.astimezone(ZoneInfo(s.timezone)).strftime("%z")


def test_therapist_double_booked_across_offices_is_a_conflict(db, ctx):
    t = factories.therapist(db, ctx, "seattle", "folsom")
    factories.series(db, ctx, office="seattle", therapist_obj=t, first=date(2027, 2, 24))
    before = db.scalar(select(func.count()).select_from(TherapySession))
    with pytest.raises(Conflict) as caught:
        factories.series(
            db, ctx, office="folsom", therapist_obj=t, first=date(2027, 3, 3), at=time(17, 30)
        )
    assert {c["reason"] for c in caught.value.conflicts} == {"therapist_busy"}
    assert db.scalar(select(func.count()).select_from(TherapySession)) == before


def test_room_conflict(db, ctx, locations):
    room = locations["seattle"].rooms[0]
    factories.series(db, ctx, office="seattle", room=room)
    with pytest.raises(Conflict) as caught:
        factories.series(db, ctx, office="seattle", room=room, first=date(2027, 3, 10))
    assert caught.value.conflicts[0]["reason"] == "room_busy"
    assert caught.value.conflicts[0]["number"] == 1


def test_spring_forward_gap_is_invalid(db, ctx):
    with pytest.raises(Invalid) as caught:
        factories.series(db, ctx, office="baltimore", first=date(2027, 3, 14), at=time(2, 30))
    assert "start_time" in caught.value.fields


def test_statements_per_booking_are_constant(db, ctx, engine):
    from sqlalchemy import event

    t = factories.therapist(db, ctx, "seattle")
    other = factories.therapist(db, ctx, "seattle")
    c = factories.client(db, ctx)
    db.flush()
    counts = []
    # The third series runs in the same weeks as the second, so the client's caps suppress some
    # of its texts: a mix of pending and suppressed rows must still be one insert.
    for n, first, therapist in (
        (8, date(2027, 2, 24), t),
        (20, date(2027, 6, 2), t),
        (16, date(2027, 6, 3), other),
    ):
        seen = []
        conn = db.connection()

        def count(*_a, _seen=seen, **_k):
            _seen.append(1)

        event.listen(conn, "before_cursor_execute", count)
        booking.book_series(
            db,
            ctx,
            booking.SeriesRequest(
                client_id=c.id,
                therapist_id=therapist.id,
                location_id="seattle",
                first_session_date=first,
                start_time=time(9),
                session_count=n,
                problem_area="grief",
            ),
            actor="t",
        )
        db.flush()  # the audit entry is written too
        event.remove(conn, "before_cursor_execute", count)
        counts.append(len(seen))
    assert counts[0] == counts[1] == counts[2] <= 10, counts
    suppressed = db.scalar(
        select(func.count())
        .select_from(OutboundMessage)
        .where(OutboundMessage.client_id == c.id, OutboundMessage.status == "suppressed")
    )
    assert suppressed > 0
    assert db.scalar(select(func.count()).select_from(AuditEntry)) >= 2


def test_removing_an_office_with_future_sessions_is_refused(db, ctx, locations):
    from dataclasses import replace as dc_replace

    from scheduler.db.models import Office
    from scheduler.services.directory import sync_offices

    factories.series(db, ctx, office="seattle")
    without_seattle = dc_replace(
        locations, locations=tuple(loc for loc in locations.locations if loc.id != "seattle")
    )
    with pytest.raises(Invalid) as caught:
        sync_offices(db, without_seattle)
    assert "seattle" in caught.value.fields["locations"]
    without_tucson = dc_replace(
        locations, locations=tuple(loc for loc in locations.locations if loc.id != "tucson")
    )
    sync_offices(db, without_tucson)
    assert db.get(Office, "tucson").active is False
    sync_offices(db, locations)
    assert db.get(Office, "tucson").active is True
