"""A client is never in two places at once, as the booking page shows it: booking the demo's
Maria Lopez (Tuesdays 10:00 in Tucson with Dr. Ana Reyes) with another therapist in Seattle at
the same instant names her other session."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.db.models import Client
from tests.browser.conftest import LiveApp, screenshot
from tests.browser.test_desk_grid_browser import _weekday_ahead
from tests.browser.test_frontdesk_browser import sign_in

pytestmark = pytest.mark.browser


def test_the_booking_preview_names_the_clients_other_session(
    desktop: Any, live_app: LiveApp
) -> None:
    with live_app.container.sessions() as db:
        maria = db.scalars(select(Client).where(Client.last_name == "Lopez")).one()
    tuesday = _weekday_ahead("America/Phoenix", 1, 1)
    tucson_ten = datetime.combine(tuesday, time(10), ZoneInfo("America/Phoenix"))
    seattle = tucson_ten.astimezone(ZoneInfo("America/Los_Angeles"))  # the same instant
    page = desktop.new_page()
    sign_in(page, live_app)
    page.goto(live_app.url(f"/book?office=seattle&client_id={maria.id}"))
    page.check("input[name=client_mode][value=existing]")
    page.select_option("#location_id", "seattle")
    page.select_option("#therapist_id", label="Dr. Sam Okafor")
    page.fill("#first_session_date", seattle.date().isoformat())
    page.fill("#start_time", seattle.strftime("%H:%M"))
    page.fill("#session_count", "12")
    page.select_option("#problem_area", "grief")
    summary = page.locator("#preview-body .conflict-summary")
    summary.wait_for()
    text = summary.inner_text()
    assert "the client has another session then with Dr. Ana Reyes at Tucson" in text
    screenshot(page, "book-client-busy-1280")
    # Booking it anyway is refused with the same line (tests/web/test_client_busy.py).
