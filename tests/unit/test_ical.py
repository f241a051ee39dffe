"""scheduler.ical: feeds parse with two independent readers and say the right instants."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from scheduler import ical
from scheduler.ical import FeedEvent, FeedMeta, build_calendar, clear_caches

SEATTLE = "America/Los_Angeles"
TUCSON = "America/Phoenix"
META = FeedMeta(name="Dr. Rivera · sessions", refresh=timedelta(minutes=30))
STAMP = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
EDITED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    # Each test starts cold so one test's cached text cannot hide another's bug.
    clear_caches()


def weekly(
    tzid: str, first: date, weeks: int, wall: time = time(17), *, prefix: str = "s"
) -> list[FeedEvent]:
    """A weekly series at a fixed local wall time, stepped in wall-clock days as the domain does."""
    zone = ZoneInfo(tzid)
    events = []
    for k in range(weeks):
        start = datetime.combine(first + timedelta(weeks=k), wall, tzinfo=zone).astimezone(UTC)
        events.append(
            FeedEvent(
                uid=f"{prefix}-{k}@ipt.test",
                sequence=0,
                summary=f"J.D. · IPT {k + 1}/{weeks}",
                starts_at=start,
                ends_at=start + timedelta(minutes=50),
                tzid=tzid,
                location="1200 Pine St, Seattle",
                status="CONFIRMED",
                last_modified=EDITED,
            )
        )
    return events


def seattle_offset(day: date) -> timedelta:
    """Pacific offset at 17:00 local, from the 2027/28 US rule written out by hand."""
    if date(2027, 3, 14) <= day < date(2027, 11, 7) or date(2028, 3, 12) <= day < date(2028, 11, 5):
        return timedelta(hours=-7)
    return timedelta(hours=-8)


def onset_dates(observance: icalendar.cal.Component) -> set[date]:
    """Days on which a STANDARD or DAYLIGHT observance begins: its DTSTART and every RDATE."""
    found = {observance["DTSTART"].dt.date()}
    rdates = observance.get("RDATE", [])
    for rdate in rdates if isinstance(rdates, list) else [rdates]:
        found |= {item.dt.date() for item in rdate.dts}
    return found


def parse_both(body: bytes) -> tuple[icalendar.Calendar, vobject.base.Component]:
    (component,) = list(vobject.readComponents(body.decode("utf-8")))
    return icalendar.Calendar.from_ical(body), component


def by_uid_vobject(cal: vobject.base.Component) -> dict[str, vobject.base.Component]:
    return {ev.uid.value: ev for ev in cal.vevent_list}


def by_uid_icalendar(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(ev["UID"]): ev for ev in cal.events}


# Sunday series that land on both 2027 change days, run into 2028, plus one summer 2028 date
# that only resolves to PDT if the VTIMEZONE covers 2028 as well.
SPRING = weekly(SEATTLE, date(2027, 2, 21), 16, prefix="spring")
AUTUMN = weekly(SEATTLE, date(2027, 9, 26), 16, prefix="autumn")
SUMMER_2028 = weekly(SEATTLE, date(2028, 7, 2), 1, prefix="summer")
SEATTLE_EVENTS = SPRING + AUTUMN + SUMMER_2028


def test_calendar_properties_and_required_event_properties() -> None:
    body = build_calendar(META, SEATTLE_EVENTS, dtstamp=STAMP)
    cal, vcal = parse_both(body)
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]) == "-//IPT Scheduler//EN"
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == "Dr. Rivera · sessions"
    assert vcal.contents["x-wr-calname"][0].value == "Dr. Rivera · sessions"
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT30M\r\n" in body
    assert b"\r\nX-PUBLISHED-TTL:PT30M\r\n" in body
    assert b"\r\nX-WR-TIMEZONE:America/Los_Angeles\r\n" in body  # one zone only
    assert len(cal.events) == len(vcal.vevent_list) == len(SEATTLE_EVENTS)
    required = ("UID", "SEQUENCE", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "LOCATION")
    for event in cal.events:
        for name in (*required, "STATUS", "LAST-MODIFIED"):
            assert name in event, name
        assert "DESCRIPTION" not in event
        assert event["DTSTART"].params["TZID"] == SEATTLE
        assert event["DTSTAMP"].dt.tzinfo is not None
    assert re.search(rb"\r\nDTSTAMP:\d{8}T\d{6}Z\r\n", body)


def test_every_tzid_used_has_a_vtimezone() -> None:
    tucson = weekly(TUCSON, date(2027, 3, 1), 3, prefix="tucson")
    body = build_calendar(META, SEATTLE_EVENTS + tucson, dtstamp=STAMP)
    used = set(re.findall(rb";TZID=([^:;]+)[:;]", body))
    defined = set(re.findall(rb"BEGIN:VTIMEZONE\r\nTZID:([^\r]+)\r\n", body))
    assert used == {SEATTLE.encode(), TUCSON.encode()}
    assert defined == used
    cal = icalendar.Calendar.from_ical(body)
    assert cal.get_missing_tzids() == set()
    assert b"X-WR-TIMEZONE" not in body  # two zones: no single calendar zone to claim


def test_vtimezone_holds_both_2027_changes_of_seattle() -> None:
    cal = icalendar.Calendar.from_ical(build_calendar(META, SEATTLE_EVENTS, dtstamp=STAMP))
    (zone,) = cal.timezones
    onsets: dict[str, set[date]] = {"DAYLIGHT": set(), "STANDARD": set()}
    for sub in zone.subcomponents:
        onsets[sub.name] |= onset_dates(sub)
    assert {date(2027, 3, 14), date(2028, 3, 12)} <= onsets["DAYLIGHT"]
    assert {date(2027, 11, 7), date(2028, 11, 5)} <= onsets["STANDARD"]
    # The component alone, not the zone named by its TZID, gives the right offsets.
    built = zone.to_tz(lookup_tzid=False)
    for day, hours in ((date(2027, 3, 13), -8), (date(2027, 3, 15), -7), (date(2027, 11, 8), -8)):
        assert datetime.combine(day, time(17), tzinfo=built).utcoffset() == timedelta(hours=hours)


@pytest.mark.parametrize("series", [SPRING, AUTUMN, SUMMER_2028], ids=["spring", "autumn", "2028"])
def test_seattle_series_is_17h_local_with_the_right_offsets(series: list[FeedEvent]) -> None:
    cal, vcal = parse_both(build_calendar(META, SEATTLE_EVENTS, dtstamp=STAMP))
    ours, theirs = by_uid_icalendar(cal), by_uid_vobject(vcal)
    for event in series:
        for parsed in (ours[event.uid]["DTSTART"].dt, theirs[event.uid].dtstart.value):
            assert parsed.tzinfo is not None
            assert parsed.time() == time(17)
            assert parsed.utcoffset() == seattle_offset(parsed.date())
            expected = datetime.combine(parsed.date(), time(17)) - seattle_offset(parsed.date())
            assert parsed.astimezone(UTC) == expected.replace(tzinfo=UTC) == event.starts_at
        assert theirs[event.uid].dtend.value.astimezone(UTC) == event.ends_at
    days = {e.starts_at.astimezone(ZoneInfo(SEATTLE)).date() for e in series}
    if series is not SUMMER_2028:  # the series really land on a change day
        assert days & {date(2027, 3, 14), date(2027, 11, 7)}


def test_tucson_stays_at_utc_minus_7_all_year() -> None:
    series = weekly(TUCSON, date(2027, 2, 21), 16, prefix="t1") + weekly(
        TUCSON, date(2027, 9, 26), 16, prefix="t2"
    )
    body = build_calendar(META, series, dtstamp=STAMP)
    cal, vcal = parse_both(body)
    assert b"BEGIN:DAYLIGHT" not in body
    assert b"\r\nX-WR-TIMEZONE:America/Phoenix\r\n" in body
    ours, theirs = by_uid_icalendar(cal), by_uid_vobject(vcal)
    for event in series:
        for parsed in (ours[event.uid]["DTSTART"].dt, theirs[event.uid].dtstart.value):
            assert parsed.time() == time(17)
            assert parsed.utcoffset() == timedelta(hours=-7)
            assert parsed.astimezone(UTC) == event.starts_at
            assert event.starts_at.time() == time(0)  # 17:00 MST is midnight UTC


def test_uid_survives_a_reschedule_while_times_and_sequence_change() -> None:
    before = SPRING[:4]
    moved = replace(
        before[2],
        sequence=1,
        starts_at=before[2].starts_at + timedelta(days=1, hours=1),
        ends_at=before[2].ends_at + timedelta(days=1, hours=1),
        last_modified=EDITED + timedelta(hours=2),
    )
    after = [*before[:2], moved, before[3]]
    old = by_uid_vobject(parse_both(build_calendar(META, before, dtstamp=STAMP))[1])
    new = by_uid_vobject(parse_both(build_calendar(META, after, dtstamp=STAMP))[1])
    assert list(old) == list(new) == [e.uid for e in before]
    uid = moved.uid
    assert new[uid].dtstart.value.astimezone(UTC) == moved.starts_at
    assert new[uid].dtstart.value != old[uid].dtstart.value
    assert (old[uid].sequence.value, new[uid].sequence.value) == ("0", "1")
    assert new[uid].dtstamp.value == moved.last_modified


def test_cancelled_status_is_written() -> None:
    events = [replace(SPRING[0], status="CANCELLED"), replace(SPRING[1], status="TENTATIVE")]
    cal, vcal = parse_both(build_calendar(META, events, dtstamp=STAMP))
    assert [str(e["STATUS"]) for e in cal.events] == ["CANCELLED", "TENTATIVE"]
    assert [e.status.value for e in vcal.vevent_list] == ["CANCELLED", "TENTATIVE"]


# (value, its RFC 5545 TEXT escaping written out by hand)
TRICKY_TEXTS = [
    ("A, B; C\\n<script>", r"A\, B\; C\\n<script>"),  # a literal backslash and n
    ("A, B; C\n<script>", r"A\, B\; C\n<script>"),  # a real line break
    ("C:\\Notes\\new; ok", r"C:\\Notes\\new\; ok"),
    ("back\\\\slashes, \\, and \\;", r"back\\\\slashes\, \\\, and \\\;"),
    ("Zoë · Ünïcødé 日本語 🙂", "Zoë · Ünïcødé 日本語 🙂"),
    ("tab\there", "tab\there"),
]


@pytest.mark.parametrize(("text", "wire"), TRICKY_TEXTS)
def test_text_escaping_round_trips_through_both_parsers(text: str, wire: str) -> None:
    event = replace(SPRING[0], summary=text, location=text, description=text)
    meta = replace(META, name=text)
    body = build_calendar(meta, [event], dtstamp=STAMP)
    for name in ("SUMMARY", "LOCATION", "DESCRIPTION", "X-WR-CALNAME"):
        assert f"\r\n{name}:{wire}\r\n".encode() in body, name
    cal, vcal = parse_both(body)
    (theirs,) = vcal.vevent_list
    for name in ("summary", "location", "description"):
        assert theirs.contents[name][0].value == text, name
    assert vcal.contents["x-wr-calname"][0].value == text
    # icalendar 6.3's parser undoes "\\\\" last, so it reads an escaped backslash followed by
    # n, ; or , as a line break or bare separator: a reader bug (the wire form is checked
    # above and vobject reads it back), so icalendar is asked only about backslash-free text.
    if "\\" not in text:
        (ours,) = cal.events
        for name in ("SUMMARY", "LOCATION", "DESCRIPTION"):
            assert str(ours[name]) == text, name
        assert str(cal["X-WR-CALNAME"]) == text


def test_carriage_returns_become_line_breaks_and_controls_are_dropped() -> None:
    event = replace(SPRING[0], summary="a\r\nb\rc\x00d\x1b")
    body = build_calendar(META, [event], dtstamp=STAMP)
    assert str(icalendar.Calendar.from_ical(body).events[0]["SUMMARY"]) == "a\nb\ncd"
    assert b"\x00" not in body and b"\x1b" not in body


def test_cached_build_equals_a_fresh_uncached_build_byte_for_byte() -> None:
    events = SEATTLE_EVENTS + weekly(TUCSON, date(2027, 5, 3), 16, prefix="t")
    first = build_calendar(META, events, dtstamp=STAMP)
    hits_before = ical._cached_vevent.cache_info().hits
    # A later request: the same sessions, so the same bytes (DTSTAMP is not "now").
    again = build_calendar(META, events, dtstamp=STAMP + timedelta(days=3))
    assert ical._cached_vevent.cache_info().hits - hits_before == len(events)
    clear_caches()
    assert ical._cached_vevent.cache_info().currsize == 0
    fresh = build_calendar(META, events, dtstamp=STAMP + timedelta(days=3))
    assert first == again == fresh


def test_lines_end_in_crlf_and_fold_at_75_octets() -> None:
    long_text = "Zoë's notes · 日本語, with; punctuation\n" * 12
    event = replace(SPRING[0], description=long_text, location="Ü" * 200)
    body = build_calendar(META, [event, *SPRING[1:]], dtstamp=STAMP)
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert body.count(b"\n") == body.count(b"\r\n") == body.count(b"\r")
    lines = body.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75
    assert sum(line.startswith(b" ") for line in lines) > 10  # folding really happened
    for line in lines:
        line.decode("utf-8")  # no fold splits a multi-byte character
    assert str(icalendar.Calendar.from_ical(body).events[0]["DESCRIPTION"]) == long_text


def test_dtstamp_is_last_modified_but_never_after_the_build() -> None:
    later = replace(SPRING[1], last_modified=STAMP + timedelta(minutes=5))  # clock skew
    cal, _ = parse_both(build_calendar(META, [SPRING[0], later], dtstamp=STAMP))
    stamps = [e["DTSTAMP"].dt for e in cal.events]
    assert stamps == [EDITED, STAMP]
    assert cal.events[1]["LAST-MODIFIED"].dt == later.last_modified


def test_second_of_a_repeated_hour_is_written_as_utc() -> None:
    zone = ZoneInfo(SEATTLE)
    first = datetime(2027, 11, 7, 1, 30, tzinfo=zone).astimezone(UTC)  # 08:30Z, PDT
    second = datetime(2027, 11, 7, 1, 30, fold=1, tzinfo=zone).astimezone(UTC)  # 09:30Z, PST
    events = [
        replace(SPRING[0], uid="early@x", starts_at=first, ends_at=first + timedelta(minutes=20)),
        replace(SPRING[1], uid="late@x", starts_at=second, ends_at=second + timedelta(minutes=50)),
    ]
    body = build_calendar(META, events, dtstamp=STAMP)
    assert b"DTSTART;TZID=America/Los_Angeles:20271107T013000\r\n" in body
    assert b"DTSTART:20271107T093000Z\r\n" in body
    _, vcal = parse_both(body)
    assert [e.dtstart.value.astimezone(UTC) for e in vcal.vevent_list] == [first, second]


def test_empty_feed_is_a_bare_calendar() -> None:
    body = build_calendar(META, [], dtstamp=STAMP)
    cal = icalendar.Calendar.from_ical(body)
    assert cal.events == [] and cal.timezones == []
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"starts_at": datetime(2027, 3, 1, 17)}, "starts_at"),
        ({"last_modified": datetime(2026, 11, 1)}, "last_modified"),
        ({"tzid": "Mars/Olympus_Mons"}, "tzid"),
        ({"status": "DONE"}, "status"),
        ({"ends_at": SPRING[0].starts_at}, "ends_at"),
        ({"uid": " "}, "uid"),
        ({"sequence": -1}, "sequence"),
    ],
)
def test_bad_values_are_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_calendar(META, [replace(SPRING[0], **change)], dtstamp=STAMP)


def test_duplicate_uids_and_bad_feed_values_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate uid"):
        build_calendar(META, [SPRING[0], replace(SPRING[1], uid=SPRING[0].uid)], dtstamp=STAMP)
    with pytest.raises(ValueError, match="refresh"):
        build_calendar(replace(META, refresh=timedelta(0)), SPRING, dtstamp=STAMP)
    with pytest.raises(ValueError, match="dtstamp"):
        build_calendar(META, SPRING, dtstamp=datetime(2026, 11, 27))
