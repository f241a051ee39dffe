"""The front desk in a real browser: sign in, book, change sessions, handle a text reply."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from scheduler.db.models import Client, Series
from scheduler.services.demo import DEMO_ADMIN, DEMO_PASSWORD
from tests.browser.conftest import TWILIO_TOKEN, LiveApp, screenshot
from tests.web.pages_support import seattle_first_monday

pytestmark = pytest.mark.browser

SEATTLE_SMS = "+12065550191"
NEW_PHONE = "+12065550188"


def sign_in(page: Any, live_app: LiveApp) -> None:
    """Sign in with the keyboard only: type, Tab, type, Enter."""
    page.goto(live_app.url("/"))
    assert "/signin" in page.url
    assert page.locator("#demo-credentials").is_visible()
    # Autofocus: Chromium applies it at a rendering step, which on a loaded machine can come
    # after the load event `goto` waits for; a page without it times out here.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'email'")
    page.keyboard.type(DEMO_ADMIN)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/offices/[a-z-]+/day"))
    page.keyboard.press("Tab")  # on every other page the first stop is the skip link
    assert page.evaluate("document.activeElement.className") == "skip"


def _seattle_today() -> date:
    return datetime.now(ZoneInfo("America/Los_Angeles")).date()


def _spring_forward(day: date) -> date:
    """The Sunday in `day`'s year when US clocks spring forward (second Sunday of March)."""
    march = date(day.year, 3, 1)
    return march + timedelta(days=(6 - march.weekday()) % 7 + 7)


def _text_reply(live_app: LiveApp, body: str, sender: str) -> int:
    """POST a text to the inbound webhook, signed the way Twilio signs it."""
    url = live_app.url("/webhooks/twilio/inbound")
    params = {
        "MessageSid": "SM" + "7" * 32,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": SEATTLE_SMS,
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    request = urllib.request.Request(
        url,
        data=urlencode(params).encode(),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def _step_to_a_day_with_sessions(page: Any) -> None:
    """From the landing day, go forward a day at a time to one with sessions.

    Today may be a day the office is closed (a Sunday in Tucson, or just past its midnight),
    which the day sheet says in words; the demo's Tucson series meet within the week.
    """
    for _ in range(7):
        if page.locator("table.sessions tbody tr").count() > 0:
            return
        assert "No sessions at Tucson on this day." in page.inner_text("section.sheet")
        with page.expect_navigation():
            page.click("text=Next day →")
    raise AssertionError("no Tucson day with sessions in the demo's next week")


def test_book_change_and_answer_a_reply(desktop: Any, live_app: LiveApp) -> None:
    page = desktop.new_page()
    sign_in(page, live_app)
    # The demo practice is on the landing page: its name and the office's labelled zone.
    assert "Interpersonal Therapy Associates" in page.inner_text("header")
    assert "Mountain (MST)" in page.inner_text("#zone")
    _step_to_a_day_with_sessions(page)
    screenshot(page, "day-1280")

    page.select_option("#office-pick", "seattle")
    page.click(".office-pick button")
    page.wait_for_url("**/offices/seattle/day")
    page.click("text=Week view")
    page.wait_for_url(re.compile(r"/offices/seattle/week"))

    # Book a 16-session series for a new client, watching the live preview.
    page.click("text=Book a series")
    page.wait_for_url(re.compile(r"/book"))
    page.select_option("#location_id", "seattle")
    page.check("input[name=client_mode][value=new]")
    assert page.locator("#new-client").is_visible()
    page.fill("#first_name", "Robin")
    page.fill("#last_name", "Hale")
    page.fill("#phone", "206 555 0188")
    page.wait_for_selector("#phone-check.is-ok")
    assert "(206) 555-0188" in page.inner_text("#phone-check")
    page.check("#sms_consent")
    page.select_option("#therapist_id", label="Dr. Sam Okafor")
    first = seattle_first_monday(_seattle_today())
    page.fill("#first_session_date", first.isoformat())
    page.fill("#start_time", "17:00")
    page.fill("#session_count", "16")
    page.select_option("#problem_area", "grief")
    page.wait_for_selector("#preview-body .dst-note")
    preview = page.inner_text("#preview-body")
    assert "Daylight saving" in preview and "PDT" in preview
    assert "Skipped" in preview and "Presidents" in preview and "Made up by" in preview
    assert "No conflicts" in preview
    assert page.locator("#preview-body table.plan tbody tr").count() == 16
    screenshot(page, "book-1280")
    page.click("button[value=book]")
    page.wait_for_url(re.compile(r"/series/\d+$"))
    assert "Booked 16 sessions" in page.inner_text(".flash")
    assert page.locator("table.sessions tbody tr").count() == 16

    # Reschedule session 2 by an hour, with the keyboard-reachable "Change…" link.
    page.click("a[aria-label^='Change session 2/16']")
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    page.fill("#new_time", "18:00")
    page.click("text=Move the session")
    page.wait_for_url(re.compile(r"/series/\d+$"))
    assert "Session moved." in page.inner_text(".flash")
    assert "6:00 PM" in page.inner_text("table.sessions tbody tr:nth-child(2)")

    # Cancel session 3 for the client.
    page.click("a[aria-label^='Change session 3/16']")
    page.check("input[name=cancelled_by][value=client]")
    page.fill("#reason", "Family visit")
    page.once("dialog", lambda dialog: dialog.accept())  # cancelling asks first
    page.click("text=Cancel this session")
    page.wait_for_url(re.compile(r"/series/\d+$"))
    assert "Session cancelled." in page.inner_text(".flash")
    assert "cancelled by client" in page.inner_text("table.sessions")
    assert "session.cancelled" in page.inner_text(".audit")
    screenshot(page, "series-1280")

    # The week of the spring change says so, and shows both this series and the demo's.
    page.goto(live_app.url(f"/offices/seattle/week?start={_spring_forward(first).isoformat()}"))
    assert "The clocks change this week" in page.inner_text(".zone")
    assert page.locator("#grid .block-link", has_text="Robin Hale").count() == 1
    screenshot(page, "week-1280")

    with live_app.container.sessions() as db:
        client = db.scalars(select(Client).where(Client.phone == NEW_PHONE)).one()
        series = db.scalars(select(Series).where(Series.client_id == client.id)).one()
        assert series.session_count == 16

    # The client texts R: it lands in the Seattle inbox, where it is resolved with a note.
    assert _text_reply(live_app, "R", NEW_PHONE) == 200
    page.goto(live_app.url("/offices/seattle/inbox"))
    item = page.locator(".inbox-item", has_text="Robin Hale")
    assert item.count() == 1
    assert "Reschedule request" in item.inner_text()
    screenshot(page, "inbox-1280")
    item.locator("textarea[name$=note]").fill("Called back, moved to Thursday.")
    item.locator("button", has_text="Resolve").click()
    page.wait_for_url(re.compile(r"/inbox\?office=seattle"))
    assert "Marked as resolved." in page.inner_text(".flash")
    assert page.locator(".inbox-item", has_text="Robin Hale").count() == 0

    page.goto(live_app.url(f"/clients/{client.id}"))
    assert "sms reminders" in page.inner_text("main")
    screenshot(page, "client-1280")
    # The therapist's calendar link: issue, copy, rotate (the old link stops working).
    monday = first - timedelta(days=first.weekday())
    page.goto(live_app.url(f"/therapists/{series.therapist_id}?start={monday.isoformat()}"))
    assert page.locator(".week-list .card", has_text="Robin Hale").count() == 1
    page.wait_for_selector("#feed-url")  # issued when the therapist was created
    first_url = page.input_value("#feed-url")
    assert re.fullmatch(re.escape(live_app.base) + r"/feeds/therapists/[\w-]+\.ics", first_url)
    page.click("button.copy")
    page.wait_for_selector("#copy-status:not(:empty)")
    with urllib.request.urlopen(first_url, timeout=10) as feed:
        assert b"BEGIN:VCALENDAR" in feed.read()
    page.click("text=Issue a new link")
    page.wait_for_selector(".flash")
    assert page.input_value("#feed-url") != first_url
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(first_url, timeout=10)
    screenshot(page, "therapist-1280")


def test_pages_fit_a_phone_screen(phone: Any, live_app: LiveApp) -> None:
    page = phone.new_page()
    sign_in(page, live_app)
    for path, name in (
        ("/offices/tucson/day", "day-phone"),
        ("/offices/tucson/week", "week-phone"),
        ("/book?office=seattle", "book-phone"),
        ("/series/1", "series-phone"),
    ):
        page.goto(live_app.url(path))
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        screenshot(page, name)


def test_every_field_has_a_label(desktop: Any, live_app: LiveApp) -> None:
    page = desktop.new_page()
    sign_in(page, live_app)
    for path in ("/book", "/series/1", "/sessions/1", "/offices/tucson/day", "/clients"):
        page.goto(live_app.url(path))
        unlabelled = page.evaluate(
            """() => Array.from(document.querySelectorAll('input, select, textarea'))
                .filter(el => el.type !== 'hidden')
                .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                .map(el => el.name || el.id)"""
        )
        assert unlabelled == [], f"{path}: {unlabelled}"


def test_console_watch_catches_errors(browser: Any, live_app: LiveApp) -> None:
    """The guard every page relies on really sees console errors and uncaught exceptions."""
    from tests.browser.conftest import ConsoleWatch

    watch = ConsoleWatch()
    context = browser.new_context()
    try:
        context.on("page", watch.attach)
        page = context.new_page()
        page.goto(live_app.url("/signin"))
        page.evaluate("console.error('boom')")
        page.evaluate("setTimeout(() => { throw new Error('uncaught') }, 0)")
        page.wait_for_timeout(100)
    finally:
        context.close()
    assert any("boom" in e for e in watch.errors)
    assert any("uncaught" in e for e in watch.errors)
