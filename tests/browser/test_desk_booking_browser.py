"""Booking help in Chromium: a conflict that names its obstacle and a suggestion booked instead,
and a phone already on file offered as the client to use."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import LiveApp, screenshot
from tests.browser.test_desk_grid_browser import _weekday_ahead
from tests.browser.test_frontdesk_browser import sign_in

pytestmark = pytest.mark.browser


def _series_form(page: Any, *, first: str, at: str, count: str = "12") -> None:
    page.select_option("#location_id", "tucson")
    page.select_option("#therapist_id", label="Dr. Ana Reyes")
    page.fill("#first_session_date", first)
    page.fill("#start_time", at)
    page.fill("#session_count", count)
    page.select_option("#problem_area", "grief")


def _new_client(page: Any, first: str, last: str, phone: str) -> None:
    page.check("input[name=client_mode][value=new]")
    page.fill("#first_name", first)
    page.fill("#last_name", last)
    page.fill("#phone", phone)
    page.check("#sms_consent")


def test_a_conflict_names_its_obstacle_and_a_suggestion_books(
    desktop: Any, live_app: LiveApp
) -> None:
    page = desktop.new_page()
    sign_in(page, live_app)
    page.goto(live_app.url("/book?office=tucson"))
    # Maria Lopez sees Dr. Reyes on Tuesdays at 10:00 from next week: ask for the same slot.
    tuesday = _weekday_ahead("America/Phoenix", 1, 1)
    _new_client(page, "Ines", "Moreau", "520 555 0171")
    _series_form(page, first=tuesday.isoformat(), at="10:00")
    summary = page.locator("#preview-body .conflict-summary")
    summary.wait_for()
    text = summary.inner_text()
    assert "Dr. Ana Reyes has another session then, with M.L." in text
    assert "sessions 1–12" in text  # said once for all twelve weeks
    suggestions = page.locator("#preview-body #suggestions li")
    assert 1 <= suggestions.count() <= 5
    first = suggestions.first.inner_text()
    assert "with Dr. Ana Reyes" in first  # the same therapist first
    screenshot(page, "book-conflict-suggestions-1280")
    suggestions.first.locator("button", has_text="Use this").click()
    page.wait_for_selector("#preview-body .ok:has-text('all 12 sessions are free')")
    assert page.locator("#preview-body .conflict-summary").count() == 0
    # The form now holds the suggestion, and the new client's details survived the round trip.
    assert page.input_value("#first_name") == "Ines"
    assert (
        page.input_value("#start_time") != "10:00"
        or page.input_value("#first_session_date") != tuesday.isoformat()
    )
    page.click("button[value=book]")
    page.wait_for_url(re.compile(r"/series/\d+$"))
    assert "Booked 12 sessions" in page.inner_text(".flash")
    screenshot(page, "book-suggestion-booked-1280")


def test_a_phone_on_file_is_offered_as_the_client(desktop: Any, live_app: LiveApp) -> None:
    page = desktop.new_page()
    sign_in(page, live_app)
    page.goto(live_app.url("/book?office=tucson"))
    # Dr. Reyes is free at noon on every weekday but today's (the demo's session of today
    # may be at any hour, weekly).
    today = datetime.now(ZoneInfo("America/Phoenix")).weekday()
    first = _weekday_ahead("America/Phoenix", 3 if today == 2 else 2, 2)
    _new_client(page, "Maria", "Lopes", "(520) 555-0143")  # Maria Lopez's phone, a typo'd name
    # Said as the phone is typed, with the record to use instead.
    hint = page.locator("#phone-check .on-file")
    hint.wait_for()
    assert "Already on file: Maria Lopez (Tucson)" in hint.inner_text()
    assert hint.locator("button", has_text="Use Maria Lopez").is_visible()
    _series_form(page, first=first.isoformat(), at="12:00")
    page.wait_for_selector("#preview-body .ok")
    screenshot(page, "book-duplicate-as-typed-1280")
    page.click("button[value=book]")
    box = page.locator("#duplicates")
    box.wait_for()
    assert "Maria Lopez" in box.inner_text() and "(520) 555-0143" in box.inner_text()
    assert "already on file" in page.inner_text("#phone-error")
    screenshot(page, "book-duplicate-1280")
    box.locator("button", has_text="Use this client").click()
    page.wait_for_selector("#existing-client:not([hidden]) input[name=client_id]:checked")
    assert "Maria Lopez" in page.inner_text("#client-results")
    page.click("button[value=book]")
    page.wait_for_url(re.compile(r"/series/\d+$"))
    assert "Maria Lopez" in page.inner_text("h1")
