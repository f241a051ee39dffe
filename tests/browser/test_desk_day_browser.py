"""The desk's day in Chromium: attendance from the day sheet, moving a session with its preview,
and answering the inbox by text."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.db.models import Client, OutboundMessage, Series, TherapySession
from tests.browser.conftest import LiveApp, screenshot
from tests.browser.test_desk_grid_browser import _weekday_ahead
from tests.browser.test_frontdesk_browser import sign_in

pytestmark = pytest.mark.browser
TUCSON = ZoneInfo("America/Phoenix")


def _started_session(live_app: LiveApp) -> tuple[int, str]:
    """James Carter's first session, put 20 minutes in the past (a start that has passed
    cannot be booked, so the row is changed directly)."""
    start = (datetime.now(TUCSON) - timedelta(minutes=20)).replace(second=0, microsecond=0)
    with live_app.container.sessions.begin() as db:
        client = db.scalars(select(Client).where(Client.first_name == "James")).one()
        series = db.scalars(select(Series).where(Series.client_id == client.id)).one()
        s = series.sessions[0]
        s.starts_at, s.ends_at = start, start + timedelta(minutes=50)
        s.local_date, s.local_time = start.date(), start.time().replace(tzinfo=None)
        return s.id, start.date().isoformat()


def _visit_of(live_app: LiveApp, first_name: str, earliest: date) -> date:
    """The day of the demo client's first visit on or after `earliest` that is still booked
    (a holiday on the series' weekday moves that week's visit to the end of the series)."""
    with live_app.container.sessions() as db:
        client = db.scalars(select(Client).where(Client.first_name == first_name)).one()
        day = db.scalars(
            select(TherapySession.local_date)
            .join(Series)
            .where(
                Series.client_id == client.id,
                TherapySession.status == "scheduled",
                TherapySession.local_date >= earliest,
            )
            .order_by(TherapySession.local_date)
        ).first()
    assert day is not None, f"{first_name} has no visit from {earliest}"
    return day


def test_attendance_from_the_day_sheet_and_undo(desktop: Any, live_app: LiveApp) -> None:
    session_id, day = _started_session(live_app)
    page = desktop.new_page()
    sign_in(page, live_app)
    page.goto(live_app.url(f"/offices/tucson/day?date={day}"))
    row = page.locator(f"#row-{session_id}")
    assert row.locator("button", has_text="Attended").is_visible()
    screenshot(page, "day-sheet-attendance-1280")
    row.locator("button", has_text="No-show").click()
    page.wait_for_url(re.compile(rf"/offices/tucson/day\?date={day}#row-{session_id}"))
    row = page.locator(f"#row-{session_id}")
    assert "No-show" in row.locator(".attendance").inner_text()
    assert "no-show. You can undo it today." in page.inner_text(".flash")
    row.locator("button", has_text="Undo").click()
    page.wait_for_url(re.compile(r"/offices/tucson/day"))
    row = page.locator(f"#row-{session_id}")
    assert row.locator("button", has_text="Late cancel").is_visible()
    row.locator("button", has_text="Attended").click()
    page.wait_for_url(re.compile(r"/offices/tucson/day"))
    assert "Attended" in page.locator(f"#row-{session_id} .attendance").inner_text()
    screenshot(page, "day-sheet-attended-1280")
    with live_app.container.sessions() as db:
        assert db.get(TherapySession, session_id).status == "attended"


def test_move_a_session_with_its_preview(desktop: Any, live_app: LiveApp) -> None:
    page = desktop.new_page()
    sign_in(page, live_app)
    thursday = _visit_of(live_app, "James", _weekday_ahead("America/Phoenix", 3, 2))
    page.goto(live_app.url(f"/offices/tucson/day?date={thursday.isoformat()}"))
    block = page.locator("#grid .block-link", has_text="James Carter")
    assert block.count() == 1
    # An hour whose :00, :30 and the next :00 are free on the grid, for a 50-minute visit at
    # :00 and then at :30 (the demo's session of today's weekday may take any hour; the
    # booking tests take noon on some weekdays).
    hour = next(
        h
        for h in (11, 10, 9, 13, 16, 14, 12)
        if all(
            page.locator(f"#grid td.slot a[data-time='{t}']").count()
            for t in (f"{h}:00", f"{h}:30", f"{h + 1}:00")
        )
    )
    shown = f"{hour % 12 or 12}:{{}} {'AM' if hour < 12 else 'PM'}"
    # Drag the block to a free half hour: the move opens, previewed, nothing saved yet.
    target = page.locator(f"#grid td.slot a[data-time='{hour}:00']").first
    block.drag_to(target)
    page.wait_for_url(re.compile(rf"/sessions/\d+\?new_date=.*new_time={hour}%3A00"))
    preview = page.locator("#move-preview")
    assert "Free: nothing is in the way" in preview.inner_text()
    assert shown.format("00") in preview.inner_text()
    # Try a time the office is closed, with a room: the preview says what is in the way.
    page.fill("#new_time", "20:30")
    page.select_option("#room", "Room 3")
    page.click("button[value=preview]")
    page.wait_for_selector("#move-preview[data-ok=no]")
    assert "Tucson is not open then" in page.inner_text("#move-preview")
    screenshot(page, "move-preview-conflict-1280")
    page.fill("#new_time", f"{hour}:30")
    page.click("button[value=preview]")
    page.wait_for_selector("#move-preview[data-ok=yes]")
    assert "Room 3" in page.inner_text("#move-preview")
    screenshot(page, "move-preview-free-1280")
    page.click("button[value=move]")
    page.wait_for_url(re.compile(r"/series/\d+$"))
    assert "Session moved." in page.inner_text(".flash")
    page.goto(live_app.url(f"/offices/tucson/day?date={thursday.isoformat()}"))
    moved = page.locator("#grid .block-link", has_text="James Carter")
    assert shown.format("30") in moved.inner_text() and "Room 3" in moved.inner_text()


def test_reply_to_an_inbox_item_by_text(desktop: Any, live_app: LiveApp) -> None:
    page = desktop.new_page()
    sign_in(page, live_app)
    assert page.locator("#nav-inbox .badge").is_visible()  # unread items, counted in the header
    page.click("#nav-inbox")
    page.wait_for_url(re.compile(r"/inbox$"))
    # One inbox for every office: Tucson's and Miami's items side by side, filterable.
    assert page.locator(".inbox-item", has_text="Tom Baker").count() == 1
    page.select_option("#inbox-office", "tucson")
    page.click("form.inline button")
    page.wait_for_url(re.compile(r"/inbox\?office=tucson"))
    assert page.locator(".inbox-item", has_text="Tom Baker").count() == 0
    item = page.locator(".inbox-item", has_text="Running 10 minutes late")
    assert "Running 10 minutes late" in item.locator(".thread").inner_text()
    item.locator("textarea[name$=text]").fill("No problem, see you soon!")
    item.locator("button", has_text="Send reply").click()
    page.wait_for_url(re.compile(r"/inbox\?office=tucson#item-\d+"))
    flash = page.inner_text(".flash")
    assert "The reply will be sent" in flash or "Quiet hours" in flash
    item = page.locator(".inbox-item", has_text="Running 10 minutes late")
    assert "No problem, see you soon!" in item.locator(".thread").inner_text()
    screenshot(page, "inbox-reply-1280")
    with live_app.container.sessions() as db:
        sent = db.scalars(select(OutboundMessage).where(OutboundMessage.kind == "reply")).all()
        assert [m.body for m in sent] == ["No problem, see you soon!"]
        assert sent[0].office_id == "tucson"
