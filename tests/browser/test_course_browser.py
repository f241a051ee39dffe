"""The course in Chromium: the in-office questionnaire with the safe path (988 on the
confirmation, the therapist's highlighted alert, a form that locks), the course view's SVG
charts (with and without JavaScript, and printed), the outcomes report with its chart and CSV,
and booking maintenance from a course in its termination phase."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.db.models import Alert, Client, InboxItem, Series, Therapist, TherapySession
from scheduler.services import booking, directory, measure_forms
from scheduler.services.demo import DEMO_ADMIN, DEMO_DESK, DEMO_PASSWORD, DEMO_THERAPIST
from tests.browser.conftest import LiveApp, screenshot

pytestmark = pytest.mark.browser
TUCSON = ZoneInfo("America/Phoenix")
TUCSON_PHONE = "(520) 555-0110"


def sign_in_as(page: Any, live_app: LiveApp, email: str) -> None:
    page.goto(live_app.url("/signin"))
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/(offices/[a-z-]+/day|therapists/\d+)"))


def _series_of(live_app: LiveApp, first_name: str, kind: str = "acute") -> int:
    with live_app.container.sessions() as db:
        client = db.scalars(select(Client).where(Client.first_name == first_name)).one()
        query = select(Series.id).where(Series.client_id == client.id, Series.kind == kind)
        return db.scalars(query).one()


def _session_under_way(live_app: LiveApp) -> int:
    """A new client's first visit with Dr. Ana Reyes in Tucson, begun ten minutes ago (booked
    for a later weekday, then moved in the table: a start that has passed cannot be booked).
    Its own client and series, so the other browser tests' demo rows are left alone."""
    ctx = live_app.container.ctx
    now = datetime.now(TUCSON)
    first = now.date() + timedelta(days=1)
    while first.weekday() >= 5:
        first += timedelta(days=1)
    with live_app.container.sessions.begin() as db:
        ana = db.scalars(select(Therapist).where(Therapist.name == "Dr. Ana Reyes")).one()
        client = directory.create_client(
            db,
            ctx,
            directory.NewClient(
                first_name="Rosa",
                last_name="Marsh",
                phone="+15205550162",
                home_location_id="tucson",
                sms_consent=True,
            ),
            actor="test",
            source="test",
        )
        request = booking.SeriesRequest(
            client_id=client.id,
            therapist_id=ana.id,
            location_id="tucson",
            first_session_date=first,
            start_time=time(19, 0),
            session_count=12,
            problem_area="grief",
        )
        series = booking.book_series(db, ctx, request, actor="test").series
        s = series.sessions[0]
        start = (now - timedelta(minutes=10)).replace(second=0, microsecond=0)
        s.starts_at, s.ends_at = start, start + timedelta(minutes=50)
        s.local_date, s.local_time = start.date(), start.time().replace(tzinfo=None)
        return s.id


def test_in_office_questionnaire_with_item_9_reaches_the_therapist_not_the_desk(
    browser: Any, live_app: LiveApp
) -> None:
    session_id = _session_under_way(live_app)
    # The front desk hands the device over from the session page.
    desk_ctx = browser.new_context(viewport={"width": 820, "height": 1180})  # a tablet
    page = desk_ctx.new_page()
    sign_in_as(page, live_app, DEMO_DESK)
    page.goto(live_app.url(f"/sessions/{session_id}"))
    assert "measure due" in page.inner_text("#measure-h + p")
    assert "PHQ" not in page.inner_text("main")  # the desk is not told which questionnaire
    page.click("text=Hand this device to the client")
    page.wait_for_load_state()
    assert re.search(r"/m/[A-Za-z0-9_-]+$", page.url), (page.url, page.inner_text("main"))
    form_url = page.url
    body = page.inner_text("body")
    # Only the questions: no name, no navigation, no staff link.
    for word in ("Rosa", "Marsh", "Dr. Ana", "Reyes", "Tucson", "Inbox", "Sign out"):
        assert word not in body, word
    assert page.locator("header.top nav, a[href^='/offices']").count() == 0
    groups = page.locator("fieldset.question[id^='phq9-'][id$='-group']")
    items = [g for g in groups.all() if "difficulty" not in (g.get_attribute("id") or "")]
    assert len(items) == 9
    screenshot(page, "measure-form-tablet")
    # Send it half done: the page names what is missing and keeps what was chosen.
    page.check("input[name='phq9-0'][value='1']")
    page.click("button:has-text('Send my answers')")
    page.wait_for_load_state()
    assert "8 are still open" in page.inner_text("body"), (page.url, page.inner_text("body")[:800])
    assert page.locator("input[name='phq9-0'][value='1']").is_checked()
    answers = [1, 2, 1, 1, 0, 1, 1, 0, 2]  # item 9: "More than half the days"
    for index, value in enumerate(answers):
        page.check(f"input[name='phq9-{index}'][value='{value}']")
    page.click("button:has-text('Send my answers')")
    page.wait_for_url(re.compile(r"/m/thanks"))
    thanks = page.inner_text("main")
    assert "988" in thanks and "988 Suicide & Crisis Lifeline" in thanks
    assert TUCSON_PHONE in thanks
    assert "alert" not in thanks.lower() and "item 9" not in thanks.lower()
    screenshot(page, "measure-thanks-tablet")
    # Locked: the form cannot be opened again, and staff pages need a new sign-in.
    gone = page.goto(form_url)
    assert gone is not None and gone.status == 410
    page.go_back()
    page.goto(live_app.url(f"/sessions/{session_id}"))
    assert "/signin" in page.url
    # The desk, signed in again, sees no banner and is refused the alerts.
    sign_in_as(page, live_app, DEMO_DESK)
    assert page.locator(".urgent-banner").count() == 0
    refused = page.goto(live_app.url("/alerts"))
    assert refused is not None and refused.status == 403
    with live_app.container.sessions() as db:
        alert = db.scalars(select(Alert).where(Alert.session_id == session_id)).one()
        assert alert.status == "open"
        desk_items = db.scalars(select(InboxItem).where(InboxItem.kind == "measure_alert")).all()
        assert all(i.admins_only for i in desk_items)
    page.goto(live_app.url("/inbox"))
    assert "measure alert" not in page.inner_text("main").lower()
    desk_ctx.close()

    # The therapist: a red banner on every page, the alert listed, acknowledged with a note.
    ana_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ana_ctx.new_page()
    sign_in_as(page, live_app, DEMO_THERAPIST)
    banner = page.locator(".urgent-banner")
    assert banner.is_visible() and "1 open alert" in banner.inner_text()
    colour = banner.evaluate("e => getComputedStyle(e).backgroundColor")
    red, green, blue = (int(c) for c in re.findall(r"\d+", colour)[:3])
    assert red > 150 and green < 80 and blue < 80, colour
    screenshot(page, "alert-banner-therapist")
    page.click(".urgent-banner a")
    card = page.locator(f"#alert-{alert.id}-h").locator("xpath=..")
    assert "item 9" in card.inner_text()
    screenshot(page, "alerts-therapist")
    page.fill(f"#alert{alert.id}-note", "Called her the same day; safety plan reviewed.")
    page.click(f"#alert-{alert.id}-h >> xpath=.. >> text=Acknowledge")
    assert f"Alert #{alert.id} acknowledged." in page.inner_text(".flash")
    assert page.locator(".urgent-banner").count() == 0
    ana_ctx.close()


def test_course_view_charts_read_without_javascript_and_print(
    browser: Any, live_app: LiveApp
) -> None:
    series_id = _series_of(live_app, "Walter")  # a completed course with four PHQ-9s
    for js in (True, False):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=js)
        page = ctx.new_page()
        sign_in_as(page, live_app, DEMO_THERAPIST)
        page.goto(live_app.url(f"/series/{series_id}"))
        page.click("text=Course view")
        page.wait_for_url(re.compile(rf"/series/{series_id}/course$"))
        charts = page.locator("figure.chart-figure svg")
        assert charts.count() == 3  # PHQ-9 (his plan has no GAD-7), attendance, ratings
        for i in range(charts.count()):
            svg = charts.nth(i)
            assert svg.is_visible()
            box = svg.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 120, box
            assert svg.locator(":scope > title").count() == 1
            assert svg.locator(":scope > desc").count() == 1
            assert svg.get_attribute("role") == "img"
        phq9 = charts.first.inner_html()
        for band in ("minimal", "mild", "moderate", "severe"):
            assert band in phq9
        table = page.inner_text("table.course")
        assert "PHQ-9 16 (moderately severe)" in table and "PHQ-9 3 (minimal)" in table
        if js:
            screenshot(page, "course-view-1280")
            page.emulate_media(media="print")
            assert not page.locator("header.top").is_visible()
            assert charts.first.is_visible()
            screenshot(page, "course-view-print")
            pdf = page.pdf(format="Letter")
            assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
        else:
            screenshot(page, "course-view-no-js")
        ctx.close()


def test_outcomes_report_chart_and_csv(desktop: Any, live_app: LiveApp) -> None:
    page = desktop.new_page()
    sign_in_as(page, live_app, DEMO_ADMIN)
    page.click("text=Course outcomes")
    today = datetime.now(TUCSON).date()
    page.fill("#from", (today - timedelta(weeks=30)).isoformat())
    page.fill("#to", today.isoformat())
    page.click("form.inline button[type=submit]")
    page.wait_for_url(re.compile(r"/reports/courses\?from="))
    chart = page.locator("figure.chart-figure svg")
    assert chart.is_visible() and chart.locator(":scope > title").count() == 1
    row = page.locator("table.report tbody tr", has_text="Dr. Ana Reyes").first
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "Tucson" and int(cells[2]) >= 3  # Elena, Nora, Walter (and Grace)
    assert int(cells[3]) >= 1  # Walter completed his course
    screenshot(page, "report-courses-1280")
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible() and not page.locator("#from").is_visible()
    assert chart.is_visible() and row.is_visible()
    screenshot(page, "report-courses-print")
    page.emulate_media(media="screen")
    with page.expect_download() as waiting:
        page.click("text=Download CSV")
    download = waiting.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as got:
        rows = list(csv.DictReader(io.StringIO(got.read())))
    ana = next(r for r in rows if r["therapist"] == "Dr. Ana Reyes")
    assert ana["office"] == "Tucson" and ana["courses_started"] == cells[2]


def test_book_maintenance_from_a_course_in_its_termination_phase(
    desktop: Any, live_app: LiveApp
) -> None:
    series_id = _series_of(live_app, "Nora")
    page = desktop.new_page()
    sign_in_as(page, live_app, DEMO_DESK)
    page.goto(live_app.url(f"/series/{series_id}"))
    box = page.locator("#course-status")
    assert "termination phase" in box.inner_text() and "To do" in box.inner_text()
    screenshot(page, "series-termination-1280")
    # The task waits in the office's inbox too, with the same way to book.
    box.locator("text=inbox task").click()
    page.wait_for_url(re.compile(r"/inbox\?office=tucson#item-\d+"))
    item = page.locator(".inbox-item.kind-offer_maintenance")
    assert item.count() == 1 and "Nora Patel" in item.inner_text()
    assert item.locator("a", has_text="Book maintenance").is_visible()
    item.scroll_into_view_if_needed()
    screenshot(page, "inbox-offer-maintenance-1280")
    page.go_back()
    box = page.locator("#course-status")
    box.locator("text=Book maintenance").click()
    page.wait_for_url(re.compile(rf"/book\?continues={series_id}"))
    assert page.locator("#kind").input_value() == "maintenance"
    assert page.locator("#cadence_weeks").input_value() == "4"
    assert page.locator("#session_count").input_value() == "6"
    assert "Nora Patel" in page.inner_text("#continues")
    page.wait_for_selector("#preview-body table, #preview-body .preview-list, #preview-body li")
    screenshot(page, "book-maintenance-1280")
    page.click("button[value=book]")
    page.wait_for_url(re.compile(r"/series/\d+$"))
    assert "Booked 6 maintenance sessions." in page.inner_text(".flash")
    assert "every 4 weeks" in page.inner_text(".facts")
    with live_app.container.sessions() as db:
        made = db.scalars(select(Series).where(Series.continues_series_id == series_id)).one()
        assert (made.kind, made.cadence_weeks) == ("maintenance", 4)
        dates = [s.local_date for s in made.sessions if s.status == "scheduled"]
        assert all((b - a).days % 28 == 0 for a, b in pairwise(dates))
        task = db.scalars(
            select(InboxItem).where(
                InboxItem.series_id == series_id, InboxItem.kind == "offer_maintenance"
            )
        ).one()
        assert task.status == "resolved"
        assert db.get(TherapySession, made.sessions[0].id) is not None
    screenshot(page, "series-maintenance-1280")


OFFICE_PHONES = {"tucson": TUCSON_PHONE, "miami": "(305) 555-0130"}


def _texted_link(live_app: LiveApp) -> tuple[Client, str, str]:
    """(client, office, link token) for an English-reading demo client's first visit, which
    a link is made for from a week before it: James's (Thursdays in Tucson), or Tom's
    (Wednesdays in Miami) on a Thursday before the hour of James's, a week ahead then.
    (The demo's Maria reads Spanish: her form comes in Spanish.)"""
    with live_app.container.sessions.begin() as db:
        for first_name in ("James", "Tom"):
            client = db.scalars(select(Client).where(Client.first_name == first_name)).one()
            series = db.scalars(
                select(Series).where(Series.client_id == client.id).order_by(Series.id)
            ).first()
            assert series is not None
            ctx = live_app.container.ctx
            token = measure_forms.issue_link(db, ctx, series.sessions[0].id)
            if token is not None:
                return client, series.office_id, token
    raise AssertionError("neither James's nor Tom's first visit is within a week")


def test_the_texted_link_on_a_phone(phone: Any, live_app: LiveApp) -> None:
    """The private link a client opens from the text: the questions at phone size, nothing
    else, and the same confirmation with the Lifeline and the office's phone."""
    client, office, token = _texted_link(live_app)
    page = phone.new_page()
    page.goto(live_app.url(f"/m/{token}"))
    body = page.inner_text("body")
    assert client.first_name not in body and client.last_name not in body
    assert "Reyes" not in body  # nor the therapist
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "measure-link-phone")
    for index in range(9):
        page.check(f"input[name='phq9-{index}'][value='0']")
    page.click("button:has-text('Send my answers')")
    page.wait_for_url(re.compile(r"/m/thanks"))
    thanks = page.inner_text("main")
    assert "988 Suicide & Crisis Lifeline" in thanks and OFFICE_PHONES[office] in thanks
    assert "You can close this page" in thanks and "Staff sign-in" not in thanks
    screenshot(page, "measure-link-thanks-phone")
    assert page.request.get(live_app.url(f"/m/{token}")).status == 410  # used up
