"""A Spanish-speaking client booked at Miami in Chromium: the preview shows the confirmation text
in Spanish, and the series and client pages say which language the texts are in."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveApp, screenshot
from tests.browser.test_desk_grid_browser import _weekday_ahead
from tests.browser.test_frontdesk_browser import sign_in

pytestmark = pytest.mark.browser


def test_a_spanish_speaking_client_at_miami_sees_the_spanish_confirmation(
    desktop: Any, live_app: LiveApp
) -> None:
    page = desktop.new_page()
    sign_in(page, live_app)
    page.goto(live_app.url("/book?office=miami"))
    thursday = _weekday_ahead("America/New_York", 3, 2)
    page.check("input[name=client_mode][value=new]")
    page.fill("#first_name", "Lucía")
    page.fill("#last_name", "Ortega")
    page.fill("#phone", "(305) 555-0166")
    page.select_option("#client_language", label="Español")
    page.check("#sms_consent")
    page.select_option("#location_id", "miami")
    page.select_option("#therapist_id", label="Dr. Lee Kim")
    page.fill("#first_session_date", thursday.isoformat())
    page.fill("#start_time", "16:00")
    page.fill("#session_count", "12")
    page.select_option("#problem_area", "role_transition")

    preview = page.locator("#confirmation-preview")
    preview.wait_for()
    assert preview.get_attribute("data-language") == "es"
    assert "Confirmation text, in Español" in preview.inner_text()
    bubble = preview.locator(".sms-bubble")
    assert bubble.get_attribute("lang") == "es"
    text = bubble.inner_text()
    assert text.startswith("Hola, Lucia. Tiene 12 citas en Miami: cada jueves, 4:00 p. m. E")
    assert re.search(r"E[SD]T, del \d{1,2} [a-z]{3,4} al \d{1,2} [a-z]{3,4}\. ", text), text
    assert text.endswith("Responda ALTO para darse de baja.")
    bubble.scroll_into_view_if_needed()
    screenshot(page, "book-spanish-preview-1280")

    page.click("button[value=book]")
    page.wait_for_url(re.compile(r"/series/\d+$"))
    language = page.locator("dd.language")
    assert language.inner_text() == "Español"
    screenshot(page, "series-spanish-1280")
    page.click("h1 a")  # the client's page
    page.wait_for_url(re.compile(r"/clients/\d+$"))
    assert page.locator("dd.language").inner_text() == "Español"
    assert page.locator("#language").input_value() == "es"
