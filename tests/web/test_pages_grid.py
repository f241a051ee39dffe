"""The day and week grids, booking from a free slot, finding clients fast, the printable sheet."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from scheduler.db.models import Series, Therapist
from scheduler.services.context import ServiceContext
from scheduler.wiring import Container
from tests import factories
from tests.web.clock_support import Clock
from tests.web.pages_support import sign_in, staff

SEATTLE = ZoneInfo("America/Los_Angeles")
FIRST = date(2027, 2, 24)  # a Wednesday; the series meets at 17:00
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=SEATTLE)  # the day of session 3, before it


@pytest.fixture
def clock(container: Container) -> Clock:
    clock = Clock(NOW)
    container.clock = clock
    return clock


@pytest.fixture
def desk(client: FlaskClient, db: Session, clock: Clock) -> FlaskClient:
    staff(db, "desk@test.invalid")
    assert sign_in(client, "desk@test.invalid").status_code == 302
    return client


@pytest.fixture
def booked(db: Session, ctx: ServiceContext, clock: Clock) -> Series:
    clock.now = datetime(2027, 2, 1, tzinfo=SEATTLE)  # booked before it starts
    therapist = factories.therapist(db, ctx, "seattle", name="Dr. Grid Okafor")
    client = factories.client(db, ctx, first_name="Robin", last_name="Gridley")
    series = factories.series(
        db, ctx, first=FIRST, therapist_obj=therapist, client_obj=client, room="Room 2"
    )
    db.commit()
    clock.now = NOW
    return series


def test_the_day_is_a_grid_with_a_column_per_therapist(
    desk: FlaskClient, db: Session, ctx: ServiceContext, booked: Series
) -> None:
    idle = factories.therapist(db, ctx, "seattle", name="Dr. Idle Park")
    db.commit()
    page = desk.get("/offices/seattle/day?date=2027-03-10").text
    heads = re.findall(
        r'<th scope="col" colspan="1" class="col-head[^"]*">\s*<a[^>]*>([^<]+)</a>', page
    )
    assert "Dr. Grid Okafor" in heads and "Dr. Idle Park" in heads
    session = booked.sessions[2]
    block = re.search(
        rf'<td rowspan="(\d+)" class="block[^"]*">\s*'
        rf'<a class="block-link" href="/sessions/{session.id}"',
        page,
    )
    assert block and block.group(1) == "10"  # 50 minutes in 5-minute rows
    assert "Robin Gridley" in page and "Room 2 · 3/16" in page
    # A free half hour of the idle therapist books with everything filled in.
    assert (
        f'href="/book?office=seattle&amp;therapist={idle.id}&amp;date=2027-03-10&amp;time=15:00"'
        in page
    )
    # The morning has passed: no booking into it; opening hours end at 20:00.
    assert "date=2027-03-10&amp;time=09:00" not in page
    assert "time=20:00" not in page
    assert 'id="now-line"' in page and "Now 12:00" in page.replace("\u202f", " ")


def test_the_week_is_a_column_per_day_and_can_show_one_therapist(
    desk: FlaskClient, db: Session, ctx: ServiceContext, clock: Clock, booked: Series
) -> None:
    other = factories.therapist(db, ctx, "seattle", name="Dr. Other Lane")
    clock.now = datetime(2027, 2, 1, tzinfo=SEATTLE)
    factories.series(db, ctx, first=FIRST, at=time(9), therapist_obj=other)
    db.commit()
    clock.now = NOW
    everyone = desk.get("/offices/seattle/week?start=2027-03-15").text
    assert everyone.count('class="block-link"') == 2
    assert "Wed, Mar 17" in everyone or "Wed 17 Mar" in everyone
    assert 'id="now-line"' not in everyone  # not this week
    one = desk.get(f"/offices/seattle/week?start=2027-03-15&therapist={other.id}").text
    assert one.count('class="block-link"') == 1
    assert f"therapist={other.id}&amp;date=2027-03-17" in one


def test_a_slot_link_opens_the_booking_form_filled_in_with_its_preview(
    desk: FlaskClient, booked: Series
) -> None:
    therapist_id = booked.therapist_id
    page = desk.get(
        f"/book?office=seattle&therapist={therapist_id}&date=2027-03-18&time=15:00"
    ).text
    assert re.search(rf'<option [^>]*selected value="{therapist_id}">Dr. Grid Okafor<', page)
    assert 'value="2027-03-18"' in page and 'value="15:00"' in page
    assert 'class="preview-result"' in page  # shown before any script runs


def test_a_slot_link_with_junk_is_an_empty_form(desk: FlaskClient) -> None:
    page = desk.get("/book?office=seattle&therapist=99999&date=soon&time=25:99")
    assert page.status_code == 200
    assert 'class="preview-result"' not in page.text


def test_the_clients_page_lists_upcoming_and_recent_clients(
    desk: FlaskClient, db: Session, clock: Clock, booked: Series
) -> None:
    page = desk.get("/clients").text
    upcoming = page.split('id="upcoming-h"')[1].split('id="recent-h"')[0]
    recent = page.split('id="recent-h"')[1]
    assert "Robin Gridley" in upcoming and "Robin Gridley" in recent
    assert "3/16" in upcoming and "2/16" in recent


def test_the_header_search_finds_by_last_four_digits_and_goes_straight_there(
    desk: FlaskClient, booked: Series
) -> None:
    phone = booked.client.phone
    found = desk.get(f"/clients?q={phone[-4:]}&go=1")
    assert found.status_code == 302
    assert found.headers["Location"].endswith(f"/clients/{booked.client_id}")
    page = desk.get("/offices/seattle/day").text
    assert 'id="header-q"' in page and 'action="/clients"' in page


def test_the_client_page_lists_upcoming_and_past_sessions_with_k_of_n(
    desk: FlaskClient, booked: Series
) -> None:
    page = desk.get(f"/clients/{booked.client_id}").text
    assert "Upcoming (14)" in page and "Past (2)" in page
    past = page.split('id="sessions-past"')[1].split("</table>")[0]
    assert past.index(">2/16<") < past.index(">1/16<")  # newest first


def test_the_day_sheet_prints_time_client_phone_therapist_room_and_k_of_n(
    desk: FlaskClient, booked: Series
) -> None:
    page = desk.get("/offices/seattle/day?date=2027-03-10").text
    sheet = page.split('class="sessions day-sheet"')[1].split("</table>")[0]
    row = sheet.split("<tbody>")[1]
    for shown in ("Robin Gridley", "(206) 555-", "Dr. Grid Okafor", "Room 2", "3/16"):
        assert shown in row
    # The grid, navigation and forms are marked to stay off paper.
    assert '<section class="no-print" aria-labelledby="grid-h">' in page
    assert 'class="pager no-print"' in page


def test_other_offices_therapists_are_not_columns(
    desk: FlaskClient, db: Session, ctx: ServiceContext, booked: Series
) -> None:
    factories.therapist(db, ctx, "miami", name="Dr. Miami Only")
    db.commit()
    page = desk.get("/offices/seattle/day?date=2027-03-10").text
    assert "Dr. Miami Only" not in page


def test_a_therapist_is_not_offered_the_office_grid(
    client: FlaskClient, db: Session, ctx: ServiceContext, clock: Clock, booked: Series
) -> None:
    therapist = db.get(Therapist, booked.therapist_id)
    assert therapist is not None
    staff(db, therapist.email, role="therapist")
    sign_in(client, therapist.email)
    assert client.get("/offices/seattle/day").status_code == 403
    assert 'id="header-q"' not in client.get(f"/therapists/{therapist.id}").text
