"""The time grid's layout: rows, blocks, lanes, bookable slots, shading and the now-line."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from scheduler.locations import Location, load_locations
from scheduler.web.frontdesk import grid

ROOT = Path(__file__).resolve().parents[2]
MONDAY = date(2027, 3, 1)  # Tucson: open 08:00-20:00 on weekdays


@pytest.fixture(scope="module")
def tucson() -> Location:
    return load_locations(ROOT / "locations.yaml")["tucson"]


def session(loc: Location, day: date, at: time, minutes: int = 50, **kw: Any) -> Any:
    starts = datetime.combine(day, at, loc.tz)
    return SimpleNamespace(
        id=kw.pop("id", 1),
        therapist_id=kw.pop("therapist_id", 7),
        starts_at=starts,
        ends_at=starts + timedelta(minutes=minutes),
        **kw,
    )


def never_closed(day: date) -> str | None:
    return None


def build(loc: Location, sessions: list[Any], *, now: datetime, day: date = MONDAY) -> grid.Grid:
    spec = grid.ColumnSpec("t7", "Dr. Reyes", day, sessions, therapist_id=7)
    return grid.build(loc, [spec], now=now, closed=never_closed)


def cells(g: grid.Grid) -> list[grid.Cell]:
    return [c for lane in g.columns[0].lanes for c in lane]


def test_the_window_covers_opening_hours_in_five_minute_rows(tucson: Location) -> None:
    g = build(tucson, [], now=datetime(2027, 2, 1, tzinfo=tucson.tz))
    assert (g.first_minute, g.last_minute) == (8 * 60, 20 * 60)
    assert g.row_count == 12 * 12
    assert [label.at for label in g.labels[:3]] == [time(8), time(8, 30), time(9)]


def test_every_lane_tiles_the_rows_without_gaps_or_overlaps(tucson: Location) -> None:
    g = build(
        tucson,
        [session(tucson, MONDAY, time(10)), session(tucson, MONDAY, time(13, 20), 35, id=2)],
        now=datetime(2027, 2, 1, tzinfo=tucson.tz),
    )
    row = 0
    for cell in cells(g):
        assert cell.row == row
        row += cell.span
    assert row == g.row_count


def test_a_block_spans_its_duration(tucson: Location) -> None:
    g = build(
        tucson, [session(tucson, MONDAY, time(10))], now=datetime(2027, 2, 1, tzinfo=tucson.tz)
    )
    (block,) = [c for c in cells(g) if c.kind == "block"]
    assert (block.row, block.span) == ((10 * 60 - 8 * 60) // 5, 10)
    assert block.lines >= 3  # room for the time, the client and the room with k/N


def test_free_half_hours_in_opening_hours_are_bookable_slots(tucson: Location) -> None:
    g = build(
        tucson, [session(tucson, MONDAY, time(10))], now=datetime(2027, 2, 1, tzinfo=tucson.tz)
    )
    slots = [c for c in cells(g) if c.kind == "slot"]
    starts = [c.at for c in slots]
    assert time(9, 30) in starts and time(11) in starts
    assert time(10) not in starts and time(10, 30) not in starts  # under the block
    assert all(c.therapist_id == 7 and c.day == MONDAY for c in slots)
    # The ten minutes between the block's end and 11:00 are free but not a slot of their own.
    tail = next(c for c in cells(g) if c.start == 10 * 60 + 50)
    assert tail.kind == "gap" and tail.span == 2


def test_the_past_is_not_offered_and_the_now_line_sits_on_its_row(tucson: Location) -> None:
    now = datetime.combine(MONDAY, time(13, 7), tucson.tz)
    g = build(tucson, [], now=now)
    assert g.now_row == (13 * 60 + 5 - 8 * 60) // 5
    slots = [c.at for c in cells(g) if c.kind == "slot"]
    assert min(slots) == time(13, 30)
    assert all(c.past for c in cells(g) if c.start < 13 * 60)


def test_outside_opening_hours_is_shaded_and_never_bookable(tucson: Location) -> None:
    saturday = date(2027, 3, 6)  # open 09:00-13:00
    late = session(tucson, saturday, time(14))  # booked outside the hours: the window widens
    g = build(tucson, [late], now=datetime(2027, 2, 1, tzinfo=tucson.tz), day=saturday)
    closed = [c for c in cells(g) if c.closed]
    assert {c.at for c in closed} == {time(13), time(13, 30), time(14, 50)}
    assert closed and all(c.kind == "gap" for c in closed)
    assert {c.at for c in cells(g) if c.kind == "slot"} == {
        time(9),
        time(9, 30),
        time(10),
        time(10, 30),
        time(11),
        time(11, 30),
        time(12),
        time(12, 30),
    }


def test_a_closed_day_says_why_and_offers_nothing(tucson: Location) -> None:
    spec = grid.ColumnSpec("t7", "Dr. Reyes", MONDAY, [], therapist_id=7)
    g = grid.build(
        tucson,
        [spec],
        now=datetime(2027, 2, 1, tzinfo=tucson.tz),
        closed=lambda day: "Staff training day",
    )
    assert g.columns[0].note == "Closed: Staff training day"
    assert not [c for c in cells(g) if c.kind == "slot"]
    assert (g.first_minute, g.last_minute) == grid.DEFAULT_DAY


def test_overlapping_sessions_get_lanes_and_one_offer_per_free_half_hour(tucson: Location) -> None:
    g = build(
        tucson,
        [session(tucson, MONDAY, time(10), id=1), session(tucson, MONDAY, time(10, 30), id=2)],
        now=datetime(2027, 2, 1, tzinfo=tucson.tz),
    )
    first, second = g.columns[0].lanes
    assert [c.session.id for c in first if c.kind == "block"] == [1]
    assert [c.session.id for c in second if c.kind == "block"] == [2]
    offered = [c.at for lane in (first, second) for c in lane if c.kind == "slot"]
    assert len(offered) == len(set(offered))  # never two links for one half hour


def test_sessions_outside_the_hours_widen_the_window(tucson: Location) -> None:
    g = build(
        tucson,
        [session(tucson, MONDAY, time(19, 45))],  # ends 20:35, after closing
        now=datetime(2027, 2, 1, tzinfo=tucson.tz),
    )
    assert g.last_minute == 21 * 60
    (block,) = [c for c in cells(g) if c.kind == "block"]
    assert block.start == 19 * 60 + 45


def test_odd_minutes_snap_to_rows_so_no_cell_is_empty(tucson: Location) -> None:
    g = build(
        tucson,
        [session(tucson, MONDAY, time(13, 34)), session(tucson, MONDAY, time(15, 2), 43, id=2)],
        now=datetime.combine(MONDAY, time(12, 7), tucson.tz),
    )
    assert all(c.span >= 1 for c in cells(g))
    row = 0
    for cell in cells(g):
        assert cell.row == row
        row += cell.span
    assert row == g.row_count
    assert len(g.columns[0].lanes) == 1
