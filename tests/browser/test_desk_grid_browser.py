"""The desk's grid in Chromium: booking a free slot from it, and the printed day sheet."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scheduler.services.availability import closed_days
from tests.browser.conftest import LiveApp, screenshot
from tests.browser.test_frontdesk_browser import sign_in

pytestmark = pytest.mark.browser


def _weekday_ahead(zone: str, weekday: int, weeks: int) -> date:
    today = datetime.now(ZoneInfo(zone)).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks)


def _open_weekday_ahead(live_app: LiveApp, office: str, weekday: int, weeks: int) -> date:
    """`_weekday_ahead` in `office`'s zone, a week later while a holiday closes the office then
    (a Monday three weeks on is Martin Luther King Jr. Day from Christmas Eve)."""
    location = live_app.container.locations[office]
    day = _weekday_ahead(location.timezone, weekday, weeks)
    closed = closed_days(location, range(day.year, day.year + 2))
    while closed(day):
        day += timedelta(weeks=1)
    return day


def test_click_a_free_slot_in_the_grid_to_book_it(desktop: Any, live_app: LiveApp) -> None:
    page = desktop.new_page()
    sign_in(page, live_app)
    day = _open_weekday_ahead(live_app, "baltimore", 0, 3)  # a Monday three weeks on
    page.goto(live_app.url(f"/offices/baltimore/day?date={day.isoformat()}"))
    screenshot(page, "grid-day-baltimore-1280")
    slot = page.locator("#grid td.slot a[data-time='14:00']")
    assert slot.count() == 1  # one therapist works at Baltimore: Dr. Lee Kim
    # Keyboard reachable: the slot is a link that takes focus and shows its time.
    slot.focus()
    assert page.evaluate("document.activeElement.closest('td').className").startswith("slot")
    assert slot.locator(".slot-label").is_visible()
    assert slot.locator(".slot-label").inner_text() == "+ 2:00 PM"
    screenshot(page, "grid-slot-focus-1280")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/book\?"))
    # Office, therapist, date and time come filled in, and the preview is already there.
    assert page.input_value("#location_id") == "baltimore"
    assert page.locator("#therapist_id option:checked").inner_text() == "Dr. Lee Kim"
    assert page.input_value("#first_session_date") == day.isoformat()
    assert page.input_value("#start_time") == "14:00"
    page.check("input[name=client_mode][value=new]")
    page.fill("#first_name", "Noor")
    page.fill("#last_name", "Haddad")
    page.fill("#phone", "410 555 0142")
    page.wait_for_selector("#phone-check.is-ok")
    page.check("#sms_consent")
    page.fill("#session_count", "12")
    page.select_option("#problem_area", "grief")
    page.wait_for_selector("#preview-body .ok:has-text('all 12 sessions')")
    assert page.locator("#preview-body table.plan tbody tr").count() == 12
    screenshot(page, "book-from-slot-1280")
    page.click("button[value=book]")
    page.wait_for_url(re.compile(r"/series/\d+$"))
    assert "Booked 12 sessions" in page.inner_text(".flash")
    # Back in the grid the slot is a block now.
    page.goto(live_app.url(f"/offices/baltimore/day?date={day.isoformat()}"))
    block = page.locator("#grid .block-link", has_text="Noor Haddad")
    assert block.count() == 1 and "1/12" in block.inner_text()


def test_the_day_sheet_prints_without_navigation(desktop: Any, live_app: LiveApp) -> None:
    page = desktop.new_page()
    sign_in(page, live_app)
    day = _weekday_ahead("America/Phoenix", 1, 0)  # the demo's Tuesday series starts then
    if day == datetime.now(ZoneInfo("America/Phoenix")).date():
        day += timedelta(weeks=1)
    page.goto(live_app.url(f"/offices/tucson/day?date={day.isoformat()}"))
    page.emulate_media(media="print")
    for hidden in ("header.top", "#grid", ".pager", "form"):
        assert not page.locator(hidden).first.is_visible(), hidden
    sheet = page.locator("table.day-sheet")
    heads = [h.strip() for h in sheet.locator("thead th:visible").all_inner_texts()]
    assert heads == ["Time", "Client", "Therapist", "Room", "Session"]
    row = sheet.locator("tbody tr", has_text="Maria Lopez")
    text = row.inner_text()
    assert "(520) 555-0143" in text and "Dr. Ana Reyes" in text and "/16" in text
    assert "Tucson" in page.inner_text("h1") and "Day sheet" in page.inner_text("h2#sheet-h")
    screenshot(page, "day-sheet-print")
    page.emulate_media(media="screen")
    assert page.locator("#grid").is_visible()
