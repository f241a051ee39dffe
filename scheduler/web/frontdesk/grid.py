"""An office's day or week as a time grid: columns of 5-minute rows, sessions as blocks.

The grid is an HTML table built with rowspans, so it needs no inline styles (the pages' CSP
forbids them) and no script: a block spans as many rows as its session has 5-minute steps,
free time is cut into cells at every half hour, opening-hour edge and block edge, and each
free half hour that could be booked is a link that starts a booking prefilled with its
office, therapist, date and time. A column holds as many lanes as it has sessions at once
(a double booking stays visible instead of hiding one session under another).

Pure: sessions come in already read; nothing here touches the database.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

from ...db.models import TherapySession
from ...locations import Location

STEP = 5  # minutes per row
SLOT = 30  # minutes per bookable slot
DEFAULT_DAY = (8 * 60, 18 * 60)  # shown when the office is closed on every day shown

CellKind = Literal["block", "slot", "gap"]


def clock(minute: int) -> time:
    return time(minute // 60, minute % 60) if minute < 24 * 60 else time(23, 59)


@dataclass
class Cell:
    """One table cell: a session's block, a bookable slot, or free time that cannot be booked."""

    kind: CellKind
    row: int
    span: int
    day: date
    start: int  # minutes after local midnight
    session: TherapySession | None = None
    closed: bool = False  # outside opening hours, or the office is shut that day
    past: bool = False
    therapist_id: int | None = None

    @property
    def at(self) -> time:
        return clock(self.start)

    @property
    def lines(self) -> int:
        """How many lines of text fit in the block (a short session shows one)."""
        return max(1, self.span * STEP // 12)

    @property
    def on_slot_line(self) -> bool:
        return self.start % SLOT == 0

    @property
    def on_hour(self) -> bool:
        return self.start % 60 == 0


@dataclass
class Column:
    key: str
    title: str
    day: date
    therapist_id: int | None = None
    note: str | None = None  # "Closed: Presidents' Day (holiday)"
    lanes: list[list[Cell]] = field(default_factory=list)
    today: bool = False


@dataclass
class TimeLabel:
    row: int
    span: int
    minute: int

    @property
    def at(self) -> time:
        return clock(self.minute)


@dataclass
class Grid:
    first_minute: int
    last_minute: int
    columns: list[Column]
    labels: list[TimeLabel]
    now_row: int | None = None
    now: datetime | None = None

    @property
    def row_count(self) -> int:
        return (self.last_minute - self.first_minute) // STEP

    def rows(self) -> list[tuple[TimeLabel | None, list[tuple[Column, Cell]]]]:
        """For each row: the time label starting there, and the cells starting there in order."""
        starting: list[list[tuple[Column, Cell]]] = [[] for _ in range(self.row_count)]
        for column in self.columns:
            for lane in column.lanes:
                for cell in lane:
                    starting[cell.row].append((column, cell))
        labels = {label.row: label for label in self.labels}
        return [(labels.get(r), starting[r]) for r in range(self.row_count)]

    @property
    def lane_total(self) -> int:
        return sum(len(c.lanes) for c in self.columns)

    @property
    def after_now(self) -> int:
        return self.row_count - (self.now_row or 0)


@dataclass(frozen=True)
class ColumnSpec:
    """What one column shows: a day, optionally one therapist, and the sessions in it."""

    key: str
    title: str
    day: date
    sessions: Sequence[TherapySession]
    therapist_id: int | None = None


def _minutes(dt: datetime, loc: Location, day: date) -> int:
    local = dt.astimezone(loc.tz)
    days = (local.date() - day).days
    return days * 24 * 60 + local.hour * 60 + local.minute


def _snap(minute: int, *, up: bool = False) -> int:
    """To a row edge: a session at 1:34 PM fills the rows from 1:30 (the text says 1:34)."""
    return -(-minute // STEP) * STEP if up else minute // STEP * STEP


def _span(s: TherapySession, loc: Location, day: date) -> tuple[int, int]:
    start = _snap(_minutes(s.starts_at, loc, day))
    end = max(_snap(_minutes(s.ends_at, loc, day), up=True), start + STEP)
    return start, end


def _open_spans(loc: Location, day: date, closed: str | None) -> list[tuple[int, int]]:
    if closed:
        return []
    return [
        (_snap(a.hour * 60 + a.minute, up=True), _snap(b.hour * 60 + b.minute))
        for a, b in loc.hours.get(day.weekday(), ())
    ]


def window(
    loc: Location, specs: Sequence[ColumnSpec], closed: Callable[[date], str | None]
) -> tuple[int, int]:
    """The minutes shown: whole hours covering opening hours and every session."""
    edges: list[int] = []
    for spec in specs:
        for a, b in _open_spans(loc, spec.day, closed(spec.day)):
            edges += [a, b]
        for s in spec.sessions:
            edges += list(_span(s, loc, spec.day))
    first, last = (min(edges), max(edges)) if edges else DEFAULT_DAY
    first = max(0, first // 60 * 60)
    last = min(24 * 60, -(-last // 60) * 60)
    return first, max(last, first + 60)


def _lanes(
    sessions: Sequence[TherapySession], loc: Location, day: date
) -> list[list[tuple[int, int, TherapySession]]]:
    """Sessions put in the fewest lanes such that none overlaps another in its lane."""
    lanes: list[list[tuple[int, int, TherapySession]]] = []
    for s in sorted(sessions, key=lambda s: (s.starts_at, s.id)):
        start, end = _span(s, loc, day)
        for lane in lanes:
            if lane[-1][1] <= start:
                lane.append((start, end, s))
                break
        else:
            lanes.append([(start, end, s)])
    return lanes or [[]]


def _cuts(first: int, last: int, spans: list[tuple[int, int]], now_minute: int | None) -> set[int]:
    cuts = set(range(first, last + 1, SLOT))
    for a, b in spans:
        cuts |= {a, b}
    if now_minute is not None:
        cuts.add(now_minute)
    return {c for c in cuts if first <= c <= last}


def build(
    loc: Location,
    specs: Sequence[ColumnSpec],
    *,
    now: datetime,
    closed: Callable[[date], str | None],
) -> Grid:
    """Lay out the columns of `specs` over one shared time window."""
    first, last = window(loc, specs, closed)
    local_now = now.astimezone(loc.tz)
    grid = Grid(first, last, [], [TimeLabel((m - first) // STEP, SLOT // STEP, m) for m in
                                   range(first, last, SLOT)], now=now)  # fmt: skip
    today = local_now.date()
    now_minute = _snap(local_now.hour * 60 + local_now.minute)
    if any(spec.day == today for spec in specs) and first <= now_minute < last:
        grid.now_row = (now_minute - first) // STEP
    for spec in specs:
        reason = closed(spec.day)
        column = Column(
            spec.key,
            spec.title,
            spec.day,
            spec.therapist_id,
            note=f"Closed: {reason}" if reason else None,
            today=spec.day == today,
        )
        opens = _open_spans(loc, spec.day, reason)
        if not opens and not reason:
            column.note = "Closed"
        day_now = now_minute if spec.day == today else None
        past_all = spec.day < today
        lane_rows = _lanes(spec.sessions, loc, spec.day)
        busy_first: list[tuple[int, int]] = [(a, b) for a, b, _ in lane_rows[0]]
        for index, lane in enumerate(lane_rows):
            cells: list[Cell] = []
            cursor = first
            for start, end, s in lane:
                start, end = max(start, first), min(end, last)
                cells += _free(spec, loc, cursor, start, opens, index, busy_first, first,
                               day_now, past_all)  # fmt: skip
                cells.append(
                    Cell("block", (start - first) // STEP, max(1, (end - start) // STEP),
                         spec.day, start, session=s, therapist_id=s.therapist_id)
                )  # fmt: skip
                cursor = end
            cells += _free(spec, loc, cursor, last, opens, index, busy_first, first,
                           day_now, past_all)  # fmt: skip
            column.lanes.append(cells)
        grid.columns.append(column)
    return grid


def _free(
    spec: ColumnSpec,
    loc: Location,
    start: int,
    end: int,
    opens: list[tuple[int, int]],
    lane: int,
    busy_first: list[tuple[int, int]],
    first: int,
    now_minute: int | None,
    past_all: bool,
) -> list[Cell]:
    """Free time from `start` to `end`, cut at half hours, opening-hour edges and now."""
    if end <= start:
        return []
    marks = sorted({start, end} | {c for c in _cuts(first, end, opens, now_minute) if c > start})
    cells = []
    for a, b in itertools.pairwise(marks):
        if b > end:
            break
        is_open = any(lo <= a and b <= hi for lo, hi in opens)
        past = past_all or (now_minute is not None and a < now_minute)
        # The first lane offers a free half hour; a later lane only where the first is busy.
        taken_first = lane > 0 and not any(x <= a < y for x, y in busy_first)
        bookable = is_open and not past and a % SLOT == 0 and b - a >= 15 and not taken_first
        cells.append(
            Cell("slot" if bookable else "gap", (a - first) // STEP, (b - a) // STEP, spec.day,
                 a, closed=not is_open, past=past, therapist_id=spec.therapist_id)
        )  # fmt: skip
    return cells


def block_data(cell: Cell) -> dict[str, Any]:
    """What a script needs to move a block (data- attributes)."""
    s = cell.session
    assert s is not None
    return {"session": s.id, "minutes": int((s.ends_at - s.starts_at).total_seconds() // 60)}
