"""The desk's round-2 pages through the test client: attendance from the day sheet, moving a
session with its preview, booking help (conflicts, suggestions, duplicates) and the inbox."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.db.models import Client, OutboundMessage, TherapySession
from tests.web.access_world import (
    World,
    page_clients,
    world_fixture,  # noqa: F401  (fixture `world`)
)


def _browsers(app: Flask, world: World) -> dict[str, Any]:
    return page_clients(app, world)


def test_attendance_from_the_day_sheet_with_undo(app: Flask, world: World, db: Session) -> None:
    desk = _browsers(app, world)["desk_miami"]
    started = db.get(TherapySession, world.started_m)
    assert started is not None
    # The world moved its start to an hour ago (the stored local date was left as booked).
    local_day = started.starts_at.astimezone(ZoneInfo("America/New_York")).date()
    day = f"/offices/miami/day?date={local_day.isoformat()}"
    sheet = desk.get(day).text
    row = sheet.split(f'id="row-{world.started_m}"')[1].split("</tr>")[0]
    assert ">Attended<" in row and ">No-show<" in row and ">Late cancel<" in row
    marked = desk.post(
        f"/sessions/{world.started_m}/attendance",
        data={"status": "no_show", "next": f"{day}#row-{world.started_m}"},
    )
    assert marked.status_code == 302 and marked.headers["Location"].endswith(
        f"#row-{world.started_m}"
    )
    db.expire_all()
    assert db.get(TherapySession, world.started_m).status == "no_show"
    row = desk.get(day).text.split(f'id="row-{world.started_m}"')[1].split("</tr>")[0]
    assert "No-show" in row and ">Undo" in row
    desk.post(f"/sessions/{world.started_m}/attendance/undo", data={"next": day})
    db.expire_all()
    assert db.get(TherapySession, world.started_m).status == "scheduled"
    desk.post(f"/sessions/{world.started_m}/attendance", data={"status": "late_cancelled"})
    db.expire_all()
    late = db.get(TherapySession, world.started_m)
    assert late.status == "cancelled" and late.late_cancel and late.counts
    # A session that has not started offers no buttons, and the service refuses a mark.
    future = desk.get(f"/offices/miami/day?date={world.next_m_date}").text
    assert "not started" in future
    refused = desk.post(f"/sessions/{world.next_m}/attendance", data={"status": "attended"})
    assert refused.status_code == 302
    db.expire_all()
    assert db.get(TherapySession, world.next_m).status == "scheduled"


def test_a_redirect_after_attendance_stays_on_this_site(app: Flask, world: World) -> None:
    desk = _browsers(app, world)["desk_all"]
    answer = desk.post(
        f"/sessions/{world.started_m}/attendance",
        data={"status": "attended", "next": "https://elsewhere.example/phish"},
    )
    assert answer.headers["Location"].endswith(f"/sessions/{world.started_m}")


def test_move_a_session_previewed_then_saved_with_room_and_therapist(
    app: Flask, world: World, db: Session
) -> None:
    desk = _browsers(app, world)["desk_all"]
    form = {"new_date": world.next_m_date, "new_time": "22:00", "room": "Room 1"}
    shown = desk.post(f"/sessions/{world.next_m}/reschedule", data=form | {"action": "preview"})
    assert shown.status_code == 200
    assert 'id="move-preview"' in shown.text and "Miami is not open then" in shown.text
    db.expire_all()
    before = db.get(TherapySession, world.next_m)
    assert before is not None and before.local_time.hour == 10  # nothing saved
    refused = desk.post(f"/sessions/{world.next_m}/reschedule", data=form | {"action": "move"})
    assert refused.status_code == 409 and "Not moved" in refused.text
    ok = form | {"new_time": "12:00", "therapist_id": str(world.ther_c), "action": "move"}
    saved = desk.post(f"/sessions/{world.next_m}/reschedule", data=ok)
    assert saved.status_code == 302
    db.expire_all()
    after = db.get(TherapySession, world.next_m)
    assert after is not None
    assert (after.local_time.hour, after.room, after.therapist_id) == (12, "Room 1", world.ther_c)
    page = desk.get(f"/sessions/{world.next_m}").text
    assert "covering for Dr. Ana Alvarez" in page


def test_a_block_dropped_in_the_grid_opens_its_move_previewed(app: Flask, world: World) -> None:
    desk = _browsers(app, world)["desk_all"]
    page = desk.get(f"/sessions/{world.next_m}?new_date={world.next_m_date}&new_time=13:00").text
    assert 'id="move-preview"' in page and "1:00 PM" in page
    assert 'value="13:00"' in page


def _series_body(world: World, **over: str) -> dict[str, str]:
    first = date.fromisoformat(world.next_m_date)
    body = {
        "client_mode": "new",
        "first_name": "Lia",
        "last_name": "Lane",
        "phone": "+13055550177",
        "location_id": "miami",
        "therapist_id": str(world.ther_a),
        "first_session_date": first.isoformat(),
        "start_time": "10:00",
        "session_count": "12",
        "duration_minutes": "50",
        "problem_area": "grief",
        "room": "",
    }
    return body | over


def test_booking_preview_names_the_obstacle_once_and_offers_free_slots(
    app: Flask, world: World
) -> None:
    desk = _browsers(app, world)["desk_all"]
    answer = desk.post("/book/preview", data=_series_body(world)).get_json()
    html = answer["html"]
    assert "Dr. Ana Alvarez has another session then, with M.C." in html
    assert html.count("has another session then") == 1  # once, naming the sessions
    offered = re.findall(r'name="suggestion" formnovalidate[^>]*value="([^"]+)"', html)
    assert 1 <= len(offered) <= 5
    # Pressing one fills the form with it and shows its (free) preview; nothing is booked.
    chosen = offered[0]
    page = desk.post("/book", data=_series_body(world) | {"suggestion": chosen})
    assert page.status_code == 200
    _therapist, first, at, _room = chosen.split("|")
    assert f'value="{first}"' in page.text and f'value="{at}"' in page.text
    assert "No conflicts: all 12 sessions are free." in page.text


def test_a_phone_on_file_is_offered_before_a_second_record(
    app: Flask, world: World, db: Session
) -> None:
    desk = _browsers(app, world)["desk_miami"]
    later = (date.fromisoformat(world.first_date) + timedelta(days=1)).isoformat()
    body = _series_body(world, phone="(305) 555-0142", first_session_date=later, start_time="15:00")
    asked = desk.post("/book", data=body | {"action": "book"})
    assert asked.status_code == 200
    assert 'id="duplicates"' in asked.text and "Mia" in asked.text
    assert "Mobile phone is already on file" in asked.text
    assert db.scalars(select(Client).where(Client.last_name == "Lane")).first() is None
    use = desk.post("/book", data=body | {"use_client": str(world.client_m)})
    assert re.search(
        r'<input checked[^>]*name="client_mode" type="radio" value="existing"', use.text
    )
    assert re.search(rf'name="client_id" value="{world.client_m}" checked', use.text)
    family = desk.post("/book", data=body | {"action": "book", "confirm_duplicate": "y"})
    assert family.status_code == 302
    assert (
        db.scalars(select(Client).where(Client.last_name == "Lane")).one().phone == "+13055550142"
    )


def test_one_inbox_for_every_office_with_replies_and_unread_counts(
    app: Flask, world: World, db: Session
) -> None:
    browsers = _browsers(app, world)
    desk = browsers["desk_all"]
    first = desk.get("/inbox").text
    assert re.search(r'id="nav-inbox">Inbox <span class="badge">3<', first)
    assert f'id="item-{world.item_s}"' in first and f'id="item-{world.item_m_unknown}"' in first
    assert first.count('<span class="tag new">New</span>') == 3
    again = desk.get("/inbox?office=miami").text
    assert 'class="badge"' not in again  # all were shown once: read for this user
    assert f'id="item-{world.item_s}"' not in again
    sent = desk.post(
        f"/inbox/{world.item_s}/reply?office=seattle",
        data={f"reply{world.item_s}-text": "No problem, see you at 5:10."},
    )
    assert sent.status_code == 302 and f"#item-{world.item_s}" in sent.headers["Location"]
    (reply,) = db.scalars(select(OutboundMessage).where(OutboundMessage.kind == "reply")).all()
    assert (reply.body, reply.office_id, reply.client_id) == (
        "No problem, see you at 5:10.",
        "seattle",
        world.client_s,
    )
    item = desk.get("/inbox?office=seattle").text.split(f'id="item-{world.item_s}"')[1]
    thread = item.split('<ol class="thread"')[1].split("</ol>")[0]
    assert "No problem, see you at 5:10." in thread
    # A Miami-only desk sees Miami's items only; an unknown number gets no reply form.
    miami = browsers["desk_miami"].get("/inbox").text
    assert f'id="item-{world.item_s}"' not in miami
    unknown = miami.split(f'id="item-{world.item_m_unknown}"')[1].split("</li>")[0]
    assert "Send reply" not in unknown
    # The goal prompt reply stays clinical in the desk's thread too.
    assert "I called her" not in miami


def test_an_empty_reply_is_refused_naming_the_reply(app: Flask, world: World, db: Session) -> None:
    desk = _browsers(app, world)["desk_all"]
    desk.post(f"/inbox/{world.item_s}/reply", data={f"reply{world.item_s}-text": "   "})
    assert (
        db.scalars(select(OutboundMessage).where(OutboundMessage.kind == "reply")).first() is None
    )
    page = desk.get("/inbox").text
    assert "Not sent" in page
