"""US formats for people: dates, 12-hour times, zone names from the date, phones, field errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from scheduler import formats
from scheduler.services.conflicts import numbers_text, summarise


def test_dates_read_month_first_with_the_weekday():
    assert formats.format_date(date(2027, 2, 1)) == "Mon, Feb 1, 2027"
    assert formats.format_long_date(date(2027, 2, 1)) == "Monday, February 1, 2027"
    assert formats.format_short_date(date(2027, 12, 4)) == "Sat, Dec 4"


def test_an_instant_is_dated_in_the_zone_given():
    late = datetime(2027, 2, 2, 6, 30, tzinfo=UTC)  # still Feb 1 in Seattle
    assert formats.format_date(late, "America/Los_Angeles") == "Mon, Feb 1, 2027"


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (time(17), "5:00 PM"),
        (time(0, 5), "12:05 AM"),
        (time(12), "12:00 PM"),
        (time(9, 30), "9:30 AM"),
    ],
)
def test_times_are_12_hour_with_a_plain_space(at, text):
    assert formats.format_time(at) == text


def test_time_range_and_when():
    start = datetime(2027, 2, 25, 1, 0, tzinfo=UTC)
    end = datetime(2027, 2, 25, 1, 50, tzinfo=UTC)
    assert formats.format_time_range(start, end, "America/Los_Angeles") == "5:00 PM\u20135:50 PM"
    assert formats.format_when(start, "America/Los_Angeles") == "Wed, Feb 24, 2027, 5:00 PM PST"


@pytest.mark.parametrize(
    ("zone", "day", "name"),
    [
        ("America/Los_Angeles", date(2027, 1, 10), "Pacific (PST)"),
        ("America/Los_Angeles", date(2027, 7, 10), "Pacific (PDT)"),
        ("America/Phoenix", date(2027, 7, 10), "Mountain (MST)"),
        ("America/New_York", date(2027, 3, 15), "Eastern (EDT)"),
        ("America/Chicago", date(2027, 11, 8), "Central (CST)"),
        ("Pacific/Honolulu", date(2027, 7, 10), "Hawaii (HST)"),
    ],
)
def test_zone_names_come_from_the_zone_and_the_date(zone, day, name):
    assert formats.zone_name(zone, day) == name


def test_phones_read_as_people_write_them():
    assert formats.format_phone("+12065550142") == "(206) 555-0142"
    assert formats.format_phone("") == ""


@pytest.mark.parametrize(
    ("field", "problem", "sentence"),
    [
        ("session_count", "must be between 8 and 20", "Session count must be between 8 and 20"),
        ("location_id", "is required", "Office is required"),
        ("client_id", "client not found", "Client not found"),
        ("sessions.0.room", "is too long", "Room is too long"),
        ("text", "is empty", "Reply is empty"),
    ],
)
def test_errors_name_their_field(field, problem, sentence):
    assert formats.field_error(field, problem) == sentence


def test_session_numbers_are_said_as_runs():
    assert numbers_text([1, 2, 3, 5]) == "sessions 1\u20133, 5"
    assert numbers_text([4]) == "session 4"


def test_summary_groups_by_what_blocks():
    hours = {"type": "hours", "location_id": "seattle", "open": "8:00 AM\u20138:00 PM"}
    conflicts = [
        {"number": n, "starts_at": f"2027-03-{n:02d}T21:00:00-08:00", "reason": "outside_hours",
         "message": "Seattle is not open then", "blocked_by": hours}
        for n in range(1, 17)
    ]  # fmt: skip
    [group] = summarise(conflicts)
    assert group["count"] == 16
    assert group["message"] == (
        "Seattle is not open then (open 8:00 AM\u20138:00 PM that day): sessions 1\u201316"
    )


def test_text_formats_are_short_and_in_the_given_zone() -> None:
    start = datetime(2027, 2, 25, 1, 0, tzinfo=UTC)  # Wed Feb 24, 5:00 PM in Seattle
    assert formats.format_text_when(start, "America/Los_Angeles") == "Wed Feb 24, 5:00 PM PST"
    assert formats.format_text_when(start, "America/New_York") == "Wed Feb 24, 8:00 PM EST"
    assert formats.format_text_time(start, "America/Phoenix") == "6:00 PM MST"
    assert formats.format_month_day(start, "America/Los_Angeles") == "Feb 24"
    assert formats.format_month_day(date(2027, 5, 31)) == "May 31"
    assert formats.format_weekday(start, "America/Los_Angeles") == "Wednesday"
    assert formats.format_weekday(start, "Pacific/Auckland") == "Thursday"
    assert formats.format_weekday(date(2027, 2, 24), locale="es") == "miércoles"
