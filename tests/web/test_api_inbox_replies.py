"""The inbox that answers: one list across offices, unread per user, threads and replies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from scheduler.db.models import OutboundMessage
from tests import factories
from tests.integration.dispatch_support import Clock
from tests.web.conftest import Api, make_user_token
from tests.web.inbound_support import (
    settings_with_auth_token,  # noqa: F401  (fixture `settings`)
    twilio_fixture,  # noqa: F401  (fixture `twilio`)
)

FOLSOM_SMS = "+19165550121"
DAYTIME = datetime(2027, 2, 15, 19, 0, tzinfo=UTC)  # 11:00 in Seattle and Folsom


@pytest.fixture
def clock(container) -> Clock:
    clock = Clock(DAYTIME)
    container.clock = clock
    return clock


@pytest.fixture
def texts(db, ctx, twilio, clock) -> dict[str, int]:
    seattle = factories.series(db, ctx, first=date(2027, 2, 24), at=time(17), count=12)
    folsom = factories.series(
        db, ctx, office="folsom", first=date(2027, 2, 24), at=time(10), count=12
    )
    db.commit()
    twilio.text("Can we move Thursday?", frm=seattle.client.phone)
    twilio.text("Parking is full, running late", frm=folsom.client.phone, to=FOLSOM_SMS)
    return {"seattle": seattle.client.id, "folsom": folsom.client.id}


def ids(response) -> dict[str, int]:
    return {i["location_id"]: i["id"] for i in response.json}


def test_one_inbox_across_offices_filterable_with_unread_counts(api, texts, client, db):
    everything = api.get("/inbox")
    assert set(ids(everything)) == {"seattle", "folsom"}
    assert all(i["unread"] for i in everything.json)
    assert set(ids(api.get("/inbox?location_id=folsom"))) == {"folsom"}
    counts = api.get("/inbox/counts").json
    assert counts["unread"] == {"seattle": 1, "folsom": 1} and counts["total_unread"] == 2
    opened = api.get(f"/inbox/{ids(everything)['seattle']}")
    assert opened.status_code == 200 and opened.json["unread"] is False
    assert api.get("/inbox/counts").json["unread"] == {"folsom": 1}
    # Read markers are per user: a colleague still sees it unread.
    other = Api(client, make_user_token(db, "colleague@t.test", "front_desk"))
    assert other.get("/inbox/counts").json["total_unread"] == 2


def test_the_item_shows_the_exchange_as_a_thread(api, texts):
    item_id = ids(api.get("/inbox"))["seattle"]
    thread = api.get(f"/inbox/{item_id}").json["thread"]
    assert [(e["direction"], e["kind"]) for e in thread[:2]] == [
        ("in", "other"),
        ("out", "auto_reply"),
    ]
    assert thread[0]["body"] == "Can we move Thursday?"
    reply = api.post(f"/inbox/{item_id}/replies", {"text": "Sure: Thursday 4 PM?"})
    assert reply.status_code == 201, reply.json
    thread = api.get(f"/inbox/{item_id}").json["thread"]
    assert thread[-1]["direction"] == "out" and thread[-1]["kind"] == "reply"
    assert thread[-1]["body"] == "Sure: Thursday 4 PM?"


def test_a_reply_answers_201_with_the_queued_text(api, texts, db):
    item_id = ids(api.get("/inbox"))["seattle"]
    r = api.post(f"/inbox/{item_id}/replies", {"text": "Sure: Thursday 4 PM?"})
    assert r.status_code == 201, r.json
    assert r.json["kind"] == "reply" and r.json["status"] == "pending"
    assert r.json["body"] == "Sure: Thursday 4 PM?" and r.json["segments"] == 1
    assert r.json["held_for_quiet_hours"] is False
    row = db.get(OutboundMessage, r.json["id"])
    assert (row.office_id, row.client_id, row.kind) == ("seattle", texts["seattle"], "reply")


def test_a_reply_at_night_says_when_it_will_go(api, texts, clock):
    item_id = ids(api.get("/inbox"))["seattle"]
    clock.now = datetime(2027, 2, 16, 6, 30, tzinfo=UTC)  # 22:30 in Seattle
    r = api.post(f"/inbox/{item_id}/replies", {"text": "Sure: Thursday 4 PM?"})
    assert r.status_code == 201
    assert r.json["held_for_quiet_hours"] is True
    assert r.json["send_at"] == "2027-02-16T08:00:00-08:00"
    assert "8:00 AM PST" in r.json["notice"]


def test_reply_refusals_name_the_field_and_write_nothing(api, texts, db):
    item_id = ids(api.get("/inbox"))["seattle"]
    before = db.scalars(select(OutboundMessage.id)).all()
    bad = api.post(f"/inbox/{item_id}/replies", {"text": "x" * 500})
    assert bad.status_code == 422 and "text" in bad.json["fields"]
    assert bad.json["messages"]["text"].startswith("Reply is 4 text messages long")
    assert api.post(f"/inbox/{item_id}/replies", {"text": "bell\x07"}).status_code == 422
    assert api.post(f"/inbox/{item_id}/replies", {}).status_code == 422
    assert db.scalars(select(OutboundMessage.id)).all() == before


def test_a_desk_reaches_only_its_offices(api, texts, client, db):
    desk = Api(client, make_user_token(db, "folsom@t.test", "front_desk", office_ids=["folsom"]))
    assert set(ids(desk.get("/inbox"))) == {"folsom"}
    assert desk.get("/inbox/counts").json["unread"] == {"folsom": 1}
    seattle_item = ids(api.get("/inbox"))["seattle"]
    assert desk.get(f"/inbox/{seattle_item}").status_code in (403, 404)
    refused = desk.post(f"/inbox/{seattle_item}/replies", {"text": "hi"})
    assert refused.status_code in (403, 404)
