"""Feeds built from booked sessions: read back by icalendar and vobject, private, and stable.

The parsing helpers here are shared with tests/web/test_feeds.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from sqlalchemy.orm import Session

from scheduler.services import feeds, session_changes
from scheduler.services.context import ServiceContext
from tests import factories

SEATTLE = "America/Los_Angeles"
TUCSON = "America/Phoenix"


@dataclass(frozen=True)
class Parsed:
    """One VEVENT as both parsers read it (they must agree on everything checked here)."""

    uid: str
    sequence: int
    status: str
    summary: str
    location: str
    description: str
    start: datetime  # as vobject resolved it through the feed's own VTIMEZONE
    end: datetime
    tzid: str | None


def parse_feed(body: bytes) -> dict[str, Parsed]:
    """Parse with icalendar and vobject, check structure and agreement; events by UID."""
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in body.split(b"\r\n")), "unfolded line"
    cal = icalendar.Calendar.from_ical(body)
    with _own_vtimezones():
        (vcal,) = list(vobject.readComponents(body.decode("utf-8")))
    for name in ("X-WR-CALNAME", "REFRESH-INTERVAL", "X-PUBLISHED-TTL"):
        assert name in cal, name
    defined = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    used = {m.decode() for m in re.findall(rb";TZID=([^:;]+)[:;]", body)}
    assert used == defined, f"TZIDs used {used} but VTIMEZONEs for {defined}"
    assert cal.get_missing_tzids() == set()
    theirs = {ev.uid.value: ev for ev in vcal.contents.get("vevent", [])}
    out: dict[str, Parsed] = {}
    for ev in cal.walk("VEVENT"):
        uid = str(ev["UID"])
        other = theirs[uid]
        for prop in ("DTSTART", "DTEND"):
            mine = ev[prop].dt
            their = getattr(other, prop.lower()).value
            assert mine.tzinfo is not None and their.tzinfo is not None
            assert mine == their and mine.utcoffset() == their.utcoffset(), (uid, prop)
        assert "DTSTAMP" in ev and int(other.sequence.value) == int(ev["SEQUENCE"])
        assert other.status.value == str(ev["STATUS"])
        assert other.summary.value == str(ev["SUMMARY"])
        out[uid] = Parsed(
            uid=uid,
            sequence=int(ev["SEQUENCE"]),
            status=str(ev["STATUS"]),
            summary=str(ev["SUMMARY"]),
            location=str(ev["LOCATION"]),
            description=str(ev.get("DESCRIPTION", "")),
            start=other.dtstart.value,
            end=other.dtend.value,
            tzid=ev["DTSTART"].params.get("TZID"),
        )
    assert len(out) == len(theirs), "a UID appears twice or a parser lost an event"
    return out


@contextmanager
def _own_vtimezones() -> Iterator[None]:
    """Make vobject read this feed's VTIMEZONEs, and leave its registry as it was.

    vobject keeps one process-wide TZID registry and keeps the first VTIMEZONE it saw for a
    TZID, so without this a feed would be read with another document's (shorter) zone rules.
    """
    registry: dict[str, Any] = vars(vobject.icalendar)["__tzidMap"]
    saved = dict(registry)
    registry.clear()
    registry["UTC"] = saved["UTC"]
    try:
        yield
    finally:
        registry.clear()
        registry.update(saved)


def pacific_offset(day: date) -> timedelta:
    """US Pacific offset on ``day`` in 2027, from the rule written out by hand."""
    return timedelta(hours=-7 if date(2027, 3, 14) <= day < date(2027, 11, 7) else -8)


def fetch(db: Session, ctx: ServiceContext, kind: feeds.FeedKind, token: str) -> bytes:
    head = feeds.lookup(db, ctx, kind, token)
    assert head is not None
    body, etag, _ = feeds.load_body(db, head.feed_id)
    assert etag == head.etag
    return body


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


@pytest.fixture
def therapist(db, ctx):
    return factories.therapist(db, ctx, "seattle", "tucson", name="Dana Reyes")


@pytest.fixture
def token(db, ctx, therapist) -> str:
    return feeds.rotate_token(db, ctx, "therapist", therapist.id, actor="test")


def book_series(db, ctx, therapist, office: str, first: date, count: int, area="grief", **kw):
    client = factories.client(db, ctx, office, **kw)
    return factories.series(
        db,
        ctx,
        office=office,
        first=first,
        count=count,
        therapist_obj=therapist,
        client_obj=client,
        problem_area=area,
    )


def test_seattle_across_both_dst_changes_and_tucson_all_year(db, ctx, therapist, token):
    spring = book_series(db, ctx, therapist, "seattle", date(2027, 2, 24), 16)  # crosses 14 March
    autumn = book_series(db, ctx, therapist, "seattle", date(2027, 10, 6), 12)  # crosses 7 November
    desert = book_series(db, ctx, therapist, "tucson", date(2027, 2, 23), 16, first_name="Tam")
    body = fetch(db, ctx, "therapist", token)
    events = parse_feed(body)
    assert len(events) == 44
    seattle_days = set()
    for series in (spring, autumn):
        for s in series.sessions:
            ev = events[f"session-{s.id}-therapist@ipt.example.test"]
            assert ev.tzid == SEATTLE
            assert ev.start.time() == time(17)
            assert ev.start.utcoffset() == pacific_offset(ev.start.date())
            assert ev.start.astimezone(UTC) == s.starts_at
            assert ev.end.astimezone(UTC) == s.ends_at
            seattle_days.add(ev.start.date())
    # Sessions on both sides of each change: the offset really changed within a series.
    assert {pacific_offset(d) for d in seattle_days if d < date(2027, 7, 1)} == {
        timedelta(hours=-8),
        timedelta(hours=-7),
    }
    assert {pacific_offset(d) for d in seattle_days if d > date(2027, 7, 1)} == {
        timedelta(hours=-8),
        timedelta(hours=-7),
    }
    for s in desert.sessions:
        ev = events[f"session-{s.id}-therapist@ipt.example.test"]
        assert ev.tzid == TUCSON
        assert ev.start.time() == time(17) and ev.start.utcoffset() == timedelta(hours=-7)
        assert s.starts_at.time() == time(0)  # 17:00 MST is midnight UTC, summer and winter
    # Tucson's VTIMEZONE, read on its own, has no daylight time.
    cal = icalendar.Calendar.from_ical(body)
    (phoenix,) = [tz for tz in cal.timezones if str(tz["TZID"]) == TUCSON]
    assert [sub.name for sub in phoenix.subcomponents] == ["STANDARD"]
    own = phoenix.to_tz(lookup_tzid=False)
    assert datetime(2027, 7, 1, 17, tzinfo=own).utcoffset() == timedelta(hours=-7)


def test_therapist_and_office_feeds_carry_initials_only(db, ctx, therapist, token):
    series = book_series(
        db,
        ctx,
        therapist,
        "seattle",
        date(2027, 2, 24),
        12,
        first_name="Jordan",
        last_name="Quennevilleson",
        phone="+1 206 555 0143",
        area="grief",
    )
    first = series.sessions[0]
    session_changes.set_weekly_goal(db, first.id, "call my sister about mum", actor="test")
    office_token = feeds.rotate_token(db, ctx, "location", "seattle", actor="test")
    client_token = feeds.rotate_token(db, ctx, "client", series.client_id, actor="test")
    for kind, tok in (("therapist", token), ("location", office_token)):
        body = fetch(db, ctx, kind, tok)
        text = body.decode()
        for forbidden in (
            "Quennevilleson",
            "Jordan",
            # The phone as people write it (bare "555" or "0143" can be in a UID or a stamp).
            "555-0143",
            "555 0143",
            "5550143",
            "2065550143",
            "grief",
            "Grief",
            "sister",
            "problem",
            "diagnos",
        ):
            assert forbidden not in text, (kind, forbidden)
        ours = [e for e in parse_feed(body).values() if e.uid.startswith(f"session-{first.id}-")]
        assert ours[0].summary == "J.Q. · IPT 1/12"
        assert ours[0].location == ctx.locations["seattle"].address
    office = parse_feed(fetch(db, ctx, "location", office_token))
    assert "Therapist: Dana Reyes" in next(iter(office.values())).description
    mine = parse_feed(fetch(db, ctx, "client", client_token))
    assert len(mine) == 12
    ev = mine[f"session-{first.id}-client@ipt.example.test"]
    assert ev.summary == "Session with Dana Reyes · Seattle"
    assert ev.location == ctx.locations["seattle"].address
    assert "grief" not in fetch(db, ctx, "client", client_token).decode()


def test_feeds_hold_only_their_owners_sessions(db, ctx, therapist, token):
    other = factories.therapist(db, ctx, "seattle", name="Other Person")
    mine = book_series(db, ctx, therapist, "seattle", date(2027, 2, 24), 8)
    theirs = book_series(db, ctx, other, "seattle", date(2027, 2, 25), 8)
    tucson = book_series(db, ctx, therapist, "tucson", date(2027, 2, 23), 8)
    assert len(parse_feed(fetch(db, ctx, "therapist", token))) == 16
    office = feeds.rotate_token(db, ctx, "location", "seattle", actor="test")
    uids = set(parse_feed(fetch(db, ctx, "location", office)))
    expected = {s.id for s in mine.sessions + theirs.sessions}
    assert {int(u.split("-")[1]) for u in uids} == expected
    client = feeds.rotate_token(db, ctx, "client", tucson.client_id, actor="test")
    assert {int(u.split("-")[1]) for u in parse_feed(fetch(db, ctx, "client", client))} == {
        s.id for s in tucson.sessions
    }


def test_uid_stays_and_sequence_rises_through_reschedule_and_cancel(db, ctx, therapist, token):
    series = book_series(db, ctx, therapist, "seattle", date(2027, 2, 24), 12)
    before = parse_feed(fetch(db, ctx, "therapist", token))
    assert parse_feed(fetch(db, ctx, "therapist", token)) == before  # a second fetch: same
    moved, dropped = series.sessions[3], series.sessions[5]
    uid_moved = f"session-{moved.id}-therapist@ipt.example.test"
    uid_dropped = f"session-{dropped.id}-therapist@ipt.example.test"
    new_local = datetime.combine(moved.local_date + timedelta(days=1), time(10))
    session_changes.reschedule(db, ctx, moved.id, new_local, actor="test")
    session_changes.cancel(db, ctx, dropped.id, cancelled_by="client", actor="test")
    after = parse_feed(fetch(db, ctx, "therapist", token))
    assert set(before) <= set(after)  # every UID kept; the client's cancellation adds none
    assert after[uid_moved].start.replace(tzinfo=None) == new_local
    assert after[uid_moved].sequence > before[uid_moved].sequence
    assert after[uid_dropped].status == "CANCELLED"
    assert after[uid_dropped].summary.startswith("Cancelled: ")
    assert after[uid_dropped].sequence > before[uid_dropped].sequence
    untouched = f"session-{series.sessions[0].id}-therapist@ipt.example.test"
    assert after[untouched] == before[untouched]


def test_practice_cancellation_keeps_the_old_event_and_adds_a_make_up(db, ctx, therapist, token):
    series = book_series(db, ctx, therapist, "seattle", date(2027, 2, 24), 12)
    before = parse_feed(fetch(db, ctx, "therapist", token))
    victim = series.sessions[2]
    session_changes.cancel(db, ctx, victim.id, cancelled_by="practice", actor="test")
    after = parse_feed(fetch(db, ctx, "therapist", token))
    assert len(after) == len(before) + 1
    gone = after[f"session-{victim.id}-therapist@ipt.example.test"]
    assert gone.status == "CANCELLED" and gone.summary == "Cancelled: C.C. · IPT"
    numbers = sorted(e.summary for e in after.values() if e.status == "CONFIRMED")
    assert numbers[-1] == "C.C. · IPT 9/12" and len(numbers) == 12


def test_renegotiating_n_rewrites_every_summary(db, ctx, therapist, token):
    series = book_series(db, ctx, therapist, "seattle", date(2027, 2, 24), 12)
    fetch(db, ctx, "therapist", token)
    session_changes.renegotiate(db, ctx, series.id, 14, actor="test")
    summaries = {e.summary for e in parse_feed(fetch(db, ctx, "therapist", token)).values()}
    assert summaries == {f"C.C. · IPT {k}/14" for k in range(1, 15)}


def test_a_fresh_stored_feed_is_served_without_building(db, ctx, therapist, token, monkeypatch):
    book_series(db, ctx, therapist, "seattle", date(2027, 2, 24), 8)
    first = feeds.lookup(db, ctx, "therapist", token)
    calls: list[int] = []
    real = feeds.build_calendar
    monkeypatch.setattr(feeds, "build_calendar", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = feeds.lookup(db, ctx, "therapist", token)
    assert again == first and calls == []
    # A week later nothing changed but the copy is old: rebuilt, same bytes, same validators.
    later = feeds.lookup(
        db, replace(ctx, clock=at(ctx.clock() + timedelta(days=7))), "therapist", token
    )
    assert calls == [1] and later == first


def test_last_modified_never_moves_backwards(db, ctx, therapist, token):
    now = ctx.clock()
    # A series starting a week or two from today, whatever today is (the clock is real here).
    today = now.astimezone(ZoneInfo(SEATTLE)).date()
    first = today + timedelta(days=7 + (2 - today.weekday()) % 7)  # a Wednesday
    series = book_series(db, ctx, therapist, "seattle", first, 8)
    head0 = feeds.lookup(db, ctx, "therapist", token)
    # Months later every session has left the 90-day window: the feed empties, and its
    # Last-Modified moves forward although no session changed since head0.
    later = replace(ctx, clock=at(now + timedelta(days=200)))
    head1 = feeds.lookup(db, later, "therapist", token)
    assert head1.etag != head0.etag and head1.last_modified > head0.last_modified
    assert parse_feed(fetch(db, later, "therapist", token)) == {}
    # Back to a clock before that build (say a host with a slow clock) and a change: the new
    # body still gets a later Last-Modified than the one already served.
    session_changes.cancel(db, ctx, series.sessions[-1].id, cancelled_by="client", actor="t")
    head2 = feeds.lookup(db, ctx, "therapist", token)
    assert head2.etag != head1.etag
    assert head2.last_modified == head1.last_modified + timedelta(seconds=1)


def test_two_changes_in_one_second_get_distinct_last_modified(db, ctx, therapist, token):
    series = book_series(db, ctx, therapist, "seattle", date(2027, 2, 24), 8)
    frozen = replace(ctx, clock=at(ctx.clock() + timedelta(minutes=5)))
    head0 = feeds.lookup(db, frozen, "therapist", token)
    session_changes.cancel(db, ctx, series.sessions[-1].id, cancelled_by="client", actor="t")
    head1 = feeds.lookup(db, frozen, "therapist", token)
    assert head1.etag != head0.etag
    assert head1.last_modified > head0.last_modified
    assert head1.last_modified.microsecond == 0


def test_local_time_check_uses_a_known_zone():
    # Guard for the helper above: the hand-written rule agrees with zoneinfo.
    for day in (date(2027, 3, 13), date(2027, 3, 15), date(2027, 11, 6), date(2027, 11, 8)):
        local = datetime.combine(day, time(17), tzinfo=ZoneInfo(SEATTLE))
        assert local.utcoffset() == pacific_offset(day)
