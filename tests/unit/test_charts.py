"""The SVG charts: well-formed, described in words, escaped, drawn without inline styles."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from scheduler.web import charts

NS = "{http://www.w3.org/2000/svg}"
BANDS = [charts.Band(0, 4, "minimal"), charts.Band(5, 9, "mild"), charts.Band(10, 27, "high")]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg" and root.get("role") == "img"
    assert all("style" not in el.attrib for el in root.iter())
    assert not list(root.iter(f"{NS}script"))
    return root


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{NS}text")]


def test_measure_chart_labels_bands_and_points() -> None:
    svg = charts.measure_chart(
        title="PHQ-9 <scores>",
        bands=BANDS,
        max_score=27,
        points=[charts.ScorePoint(4, 8, "mild"), charts.ScorePoint(1, 14, "high")],
        session_count=12,
    )
    root = parse(svg)
    assert root.find(f"{NS}title").text == "PHQ-9 <scores>"  # escaped in, read back as text
    assert root.find(f"{NS}desc").text == (
        "2 scores. From 14 (high) at session 1 to 8 (mild) at session 4."
    )
    labels = texts(root)
    assert "minimal 0\u20134" in labels and "14" in labels and "8" in labels
    assert len(list(root.iter(f"{NS}circle"))) == 2
    assert root.find(f"{NS}polyline") is not None


def test_empty_measure_chart_says_so() -> None:
    root = parse(
        charts.measure_chart(title="t", bands=BANDS, max_score=27, points=[], session_count=8)
    )
    assert "No scores yet" in texts(root)
    assert root.find(f"{NS}desc").text == "No scores recorded yet."


def test_attendance_chart_uses_letters_not_only_colour() -> None:
    weeks = [
        charts.WeekMark(1, "attended", "session 1"),
        charts.WeekMark(2, "no_show", "session 2"),
        charts.WeekMark(3, "made_up", ""),
        charts.WeekMark(4, "cancelled_client", "session 3"),
        charts.WeekMark(5, "none", ""),
    ]
    root = parse(charts.attendance_chart(weeks))
    letters = texts(root)
    for letter in ("A", "N", "M", "C"):
        assert letter in letters
    desc = root.find(f"{NS}desc").text or ""
    assert desc.startswith("5 weeks: 1 attended, 1 no-show")


def test_ratings_and_outcomes_charts() -> None:
    parse(charts.ratings_chart([(1, 4), (2, 5)], session_count=12))
    root = parse(charts.outcomes_chart([charts.OutcomeBar("Seattle · Dr. <A>", 3, 1, 2)]))
    assert "Seattle · Dr. <A>" in texts(root)
    assert (root.find(f"{NS}desc").text or "").startswith("Seattle · Dr. <A>: 3 completed")
