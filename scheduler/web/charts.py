"""Server-rendered SVG charts: plain values in, an SVG string out. No JavaScript.

Every chart is an <svg role="img"> with a <title> and a <desc> that says in words what it
shows, and draws with presentation attributes only (the pages' CSP allows no inline style).
Meaning never rests on colour alone: bands are labelled, points carry their numbers, and
attendance marks are letters in shapes, so the charts read on a black-and-white printout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from itertools import count

from ..domain.measures import Band

__all__ = ["Band", "OutcomeBar", "ScorePoint", "WeekMark", "attendance_chart", "measure_chart",
           "outcomes_chart", "ratings_chart"]  # fmt: skip

INK = "#1b1f24"
MUTED = "#555e68"
LINE = "#8a949e"
# Light tints from calm to alarming; light enough that the ink on top prints clearly.
BAND_FILLS = ("#eef6ee", "#f6f6e4", "#fbf0dc", "#fbe4d8", "#f7d6d6")
_ids = count(1)


@dataclass(frozen=True)
class ScorePoint:
    number: int  # session number (x)
    score: int
    severity: str


@dataclass(frozen=True)
class WeekMark:
    """One week of a course: what happened, as a short state name (see ATTENDANCE)."""

    week: int
    state: str
    detail: str  # for the tooltip and the text alternative, e.g. "session 4, 3 Mar"


@dataclass(frozen=True)
class OutcomeBar:
    label: str
    completed: int
    dropped: int
    ongoing: int


# state -> (letter, fill, text colour, words)
ATTENDANCE: dict[str, tuple[str, str, str, str]] = {
    "attended": ("A", "#1a6b32", "#ffffff", "attended"),
    "no_show": ("N", "#ffffff", "#a1232b", "no-show"),
    "cancelled_client": ("C", "#ffffff", "#8a4b00", "cancelled by the client"),
    "cancelled_practice": ("P", "#ffffff", "#1d4e89", "cancelled by the practice"),
    "made_up": ("M", "#e9eef3", "#1d4e89", "cancelled and made up later"),
    "scheduled": ("", "#ffffff", MUTED, "still to come"),
    "unrecorded": ("?", "#ffffff", MUTED, "attendance not recorded"),
    "none": ("", "none", MUTED, "no session that week"),
}


def _t(text: object) -> str:
    return escape(str(text), quote=True)


def _open(width: int, height: int, title: str, desc: str) -> tuple[str, str]:
    uid = next(_ids)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" '
        f'aria-labelledby="chart{uid}-t chart{uid}-d" class="chart" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="chart{uid}-t">{_t(title)}</title><desc id="chart{uid}-d">{_t(desc)}</desc>'
    )
    return head, "</svg>"


def _text(x: float, y: float, text: object, **attrs: object) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{_t(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{_t(text)}</text>'


def measure_chart(
    *,
    title: str,
    bands: Sequence[Band],
    max_score: int,
    points: Sequence[ScorePoint],
    session_count: int,
    width: int = 640,
    height: int = 260,
) -> str:
    """Scores by session number over the instrument's severity bands."""
    left, right, top, bottom = 40, 180, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    last = max([session_count, *(p.number for p in points)]) if points else session_count
    last = max(last, 1)

    def x(number: float) -> float:
        return left + (plot_w * (number - 0.5) / last)

    def y(score: float) -> float:
        return top + plot_h * (1 - score / (max_score + 1))

    ordered = sorted(points, key=lambda p: p.number)
    if ordered:
        first, final = ordered[0], ordered[-1]
        desc = (
            f"{len(ordered)} scores. From {first.score} ({first.severity}) at session "
            f"{first.number} to {final.score} ({final.severity}) at session {final.number}."
        )
    else:
        desc = "No scores recorded yet."
    head, tail = _open(width, height, title, desc)
    parts = [head]
    for index, band in enumerate(bands):
        y_top, y_bottom = y(band.high + 1), y(band.low)
        fill = BAND_FILLS[min(index, len(BAND_FILLS) - 1)]
        parts.append(
            f'<rect x="{left}" y="{y_top:.1f}" width="{plot_w}" height="{y_bottom - y_top:.1f}" '
            f'fill="{fill}" stroke="{LINE}" stroke-width="0.5"/>'
        )
        parts.append(
            _text(
                left + plot_w + 6,
                (y_top + y_bottom) / 2 + 4,
                f"{band.label} {band.low}\u2013{band.high}",
                fill=INK,
            )
        )
        parts.append(_text(left - 6, y_bottom - 2, band.low, text_anchor="end", fill=MUTED))
    parts.append(_text(left - 6, y(max_score) + 4, max_score, text_anchor="end", fill=MUTED))
    step = 1 if last <= 20 else 2
    for number in range(1, last + 1, step):
        parts.append(_text(x(number), top + plot_h + 16, number, text_anchor="middle", fill=MUTED))
    parts.append(_text(left + plot_w / 2, height - 2, "session", text_anchor="middle", fill=MUTED))
    if len(ordered) > 1:
        path = " ".join(f"{x(p.number):.1f},{y(p.score):.1f}" for p in ordered)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{INK}" stroke-width="2"/>')
    for p in ordered:
        cx, cy = x(p.number), y(p.score)
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{INK}">'
            f"<title>Session {p.number}: {p.score} ({_t(p.severity)})</title></circle>"
        )
        parts.append(_text(cx, cy - 8, p.score, text_anchor="middle", fill=INK, font_weight=700))
    if not ordered:
        parts.append(
            _text(left + plot_w / 2, top + plot_h / 2, "No scores yet", text_anchor="middle")
        )
    parts.append(tail)
    return "".join(parts)


def attendance_chart(weeks: Sequence[WeekMark], *, title: str = "Attendance by week") -> str:
    """One box per week, lettered: A attended, N no-show, C/P cancelled by client/practice."""
    size, gap, left, top = 26, 4, 4, 18
    per_row = 20
    rows = max(1, -(-len(weeks) // per_row))
    width = left * 2 + per_row * (size + gap)
    legend_y = top + rows * (size + gap + 14) + 8
    height = legend_y + 36  # two lines of legend
    tally: dict[str, int] = {}
    for w in weeks:
        tally[w.state] = tally.get(w.state, 0) + 1
    words = [f"{n} {ATTENDANCE.get(state, ATTENDANCE['none'])[3]}" for state, n in tally.items()]
    desc = f"{len(weeks)} weeks: " + ", ".join(words) + "." if weeks else "No weeks yet."
    head, tail = _open(width, height, title, desc)
    parts = [head]
    for i, w in enumerate(weeks):
        letter, fill, ink, meaning = ATTENDANCE.get(w.state, ATTENDANCE["none"])
        col, row = i % per_row, i // per_row
        bx, by = left + col * (size + gap), top + row * (size + gap + 14)
        dash = ' stroke-dasharray="3 2"' if w.state in ("none", "scheduled") else ""
        parts.append(
            f"<g><title>Week {w.week}: {_t(meaning)}{', ' + _t(w.detail) if w.detail else ''}"
            f'</title><rect x="{bx}" y="{by}" width="{size}" height="{size}" rx="3" '
            f'fill="{fill}" stroke="{INK if w.state != "none" else LINE}"{dash}/>'
        )
        if letter:
            parts.append(
                _text(
                    bx + size / 2,
                    by + size / 2 + 5,
                    letter,
                    text_anchor="middle",
                    fill=ink,
                    font_weight=700,
                    font_size=14,
                )
            )
        parts.append("</g>")
        parts.append(
            _text(bx + size / 2, by - 4, w.week, text_anchor="middle", fill=MUTED, font_size=10)
        )
    legend_lines = (
        "A attended · N no-show · C cancelled by client · P by practice · M made up",
        "? not recorded · empty box: no session that week (a holiday or closure)",
    )
    for line, key in enumerate(legend_lines):
        parts.append(_text(left, legend_y + 12 + 16 * line, key, fill=MUTED))
    parts.append(tail)
    return "".join(parts)


def ratings_chart(
    points: Sequence[tuple[int, int]], *, session_count: int, title: str = "Weekly ratings"
) -> str:
    """The client's 1-5 ratings of each week's goal, as bars by session number."""
    width, height, left, top, bottom = 640, 150, 30, 10, 30
    plot_w, plot_h = width - left - 10, height - top - bottom
    last = max([session_count, *(n for n, _ in points)], default=1)
    slot = plot_w / max(last, 1)
    desc = (
        "Ratings: " + ", ".join(f"session {n}: {r}" for n, r in points) + "."
        if points
        else "No ratings yet."
    )
    head, tail = _open(width, height, title, desc)
    parts = [head]
    for level in range(1, 6):
        ly = top + plot_h * (1 - level / 5)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{ly:.1f}" y2="{ly:.1f}" '
            f'stroke="{LINE}" stroke-width="0.5"/>'
        )
        parts.append(_text(left - 6, ly + 4, level, text_anchor="end", fill=MUTED))
    for n, rating in points:
        bar_h = plot_h * rating / 5
        bx = left + slot * (n - 1) + slot * 0.2
        parts.append(
            f'<rect x="{bx:.1f}" y="{top + plot_h - bar_h:.1f}" width="{slot * 0.6:.1f}" '
            f'height="{bar_h:.1f}" fill="#1d4e89"><title>Session {n}: {rating}</title></rect>'
        )
    for n in range(1, last + 1):
        parts.append(
            _text(left + slot * (n - 0.5), top + plot_h + 16, n, text_anchor="middle", fill=MUTED)
        )
    if not points:  # an empty grid alone reads like a chart that failed to draw
        parts.append(
            _text(
                left + plot_w / 2,
                top + plot_h / 2 + 5,
                "No ratings yet: the client rates each week's goal by text.",
                text_anchor="middle",
                fill=MUTED,
            )
        )
    parts.append(tail)
    return "".join(parts)


def outcomes_chart(bars: Sequence[OutcomeBar], *, title: str = "Courses by outcome") -> str:
    """Stacked horizontal bars: completed, dropped and ongoing courses per row."""
    label_w, bar_h, gap, top, width = 220, 22, 10, 8, 720
    plot_w = width - label_w - 60
    biggest = max((b.completed + b.dropped + b.ongoing for b in bars), default=0) or 1
    height = top + len(bars) * (bar_h + gap) + 26
    desc = (
        "; ".join(
            f"{b.label}: {b.completed} completed, {b.dropped} dropped, {b.ongoing} ongoing"
            for b in bars
        )
        or "No courses in this period."
    )
    head, tail = _open(width, height, title, desc)
    parts = [head]
    # Dark, light and white: three fills that stay apart on a black-and-white printout.
    kinds = (("completed", "#1a6b32", "#ffffff"), ("dropped", "#f1b8bc", INK),
             ("ongoing", "#ffffff", INK))  # fmt: skip
    for i, b in enumerate(bars):
        by = top + i * (bar_h + gap)
        parts.append(_text(label_w - 8, by + bar_h / 2 + 4, b.label, text_anchor="end", fill=INK))
        x = float(label_w)
        for name, fill, ink in kinds:
            value = getattr(b, name)
            if not value:
                continue
            w = plot_w * value / biggest
            parts.append(
                f'<rect x="{x:.1f}" y="{by}" width="{w:.1f}" height="{bar_h}" fill="{fill}" '
                f'stroke="{INK}" stroke-width="1">'
                f"<title>{_t(b.label)}: {value} {name}</title></rect>"
            )
            if w >= 18:
                parts.append(
                    _text(
                        x + w / 2,
                        by + bar_h / 2 + 4,
                        value,
                        text_anchor="middle",
                        fill=ink,
                        font_weight=700,
                    )
                )
            x += w
    ly = top + len(bars) * (bar_h + gap) + 16
    lx = float(label_w)
    for name, fill, _ink in kinds:
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly - 10}" width="12" height="12" fill="{fill}" '
            f'stroke="{INK}"/>'
        )
        parts.append(_text(lx + 16, ly, name, fill=INK))
        lx += 110
    parts.append(tail)
    return "".join(parts)
