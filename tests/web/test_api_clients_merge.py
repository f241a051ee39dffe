"""One record per client: the duplicate-phone check and merging two records (admins)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from scheduler.db.models import (
    AuditEntry,
    Client,
    ConsentEvent,
    InboundMessage,
    InboxItem,
    OutboundMessage,
    Series,
)
from tests.web.conftest import Api, make_user_token
from tests.web.inbound_support import (
    items,
    settings_with_auth_token,  # noqa: F401  (fixture `settings`)
    twilio_fixture,  # noqa: F401  (fixture `twilio`)
)

PHONE = "(206) 555-0142"


def client_body(first: str = "Jo", last: str = "Quinn", **over: Any) -> dict[str, Any]:
    body = {
        "first_name": first,
        "last_name": last,
        "phone": PHONE,
        "home_location_id": "seattle",
        "sms_consent": True,
    }
    body.update(over)
    return body


def clients(db) -> int:
    return db.scalar(select(func.count()).select_from(Client))


def test_a_phone_on_file_is_a_possible_duplicate(api, db):
    jo = api.post("/clients", client_body()).json
    before = clients(db)
    r = api.post("/clients", client_body("Joanna", "Quinn", phone="+1 206 555 0142"))
    assert r.status_code == 409
    assert r.json["error"] == "duplicate"
    assert r.json["existing"] == [
        {"id": jo["id"], "initials": "J.Q.", "home_location_id": "seattle"}
    ]
    assert clients(db) == before  # nothing written
    family = api.post("/clients", client_body("Sam", "Quinn", confirm_duplicate=True))
    assert family.status_code == 201, family.json
    audit = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "client.created", AuditEntry.entity_id == str(family.json["id"])
        )
    ).one()
    assert audit.details["shares_phone_with"] == [jo["id"]]


def test_the_duplicate_answer_names_only_records_the_desk_may_see(api, client, db):
    api.post("/clients", client_body())
    desk = Api(client, make_user_token(db, "desk@t.test", "front_desk", office_ids=["folsom"]))
    r = desk.post("/clients", client_body("Al", "Diaz", home_location_id="folsom"))
    assert r.status_code == 409
    assert r.json["existing"] == [] and r.json["not_shown"] == 1
    assert "Quinn" not in str(r.json) and "J.Q." not in str(r.json)


def test_changing_a_phone_to_another_clients_is_checked_too(api):
    api.post("/clients", client_body())
    al = api.post("/clients", client_body("Al", "Diaz", phone="(206) 555-0150")).json
    r = api.patch(f"/clients/{al['id']}", {"phone": PHONE})
    assert r.status_code == 409 and r.json["error"] == "duplicate"
    r = api.patch(f"/clients/{al['id']}", {"phone": PHONE, "confirm_duplicate": True})
    assert r.status_code == 200 and r.json["phone"] == "+12065550142"


@pytest.fixture
def two_records(api: Api) -> dict[str, Any]:
    t = api.post(
        "/therapists", {"name": "Dr. Ada Byrne", "email": "ada@p.test", "location_ids": ["seattle"]}
    ).json
    kept = api.post("/clients", client_body()).json
    dup = api.post("/clients", client_body("Jo", "Quinn", confirm_duplicate=True)).json
    series = []
    for who, day in ((kept, "2027-02-24"), (dup, "2027-02-25")):
        r = api.post(
            "/series",
            {
                "client_id": who["id"],
                "therapist_id": t["id"],
                "location_id": "seattle",
                "first_session_date": day,
                "start_time": "17:00",
                "session_count": 8,
                "problem_area": "grief",
            },
        )
        assert r.status_code == 201, r.json
        series.append(r.json)
    feed = api.post(f"/clients/{dup['id']}/feed-token").json["feed_url"]
    return {"therapist": t, "kept": kept, "dup": dup, "series": series, "feed": feed}


def test_merge_moves_everything_and_the_old_record_answers_404(api, db, client, two_records):
    kept, dup = two_records["kept"], two_records["dup"]
    r = api.post(f"/clients/{kept['id']}/merge", {"from_client_id": dup["id"]})
    assert r.status_code == 200, r.json
    assert r.json["merged"]["moved"]["series"] == 1
    assert r.json["merged"]["moved"]["feed_tokens_revoked"] == 1
    db.expire_all()
    assert set(db.scalars(select(Series.client_id))) == {kept["id"]}
    assert db.scalar(select(func.count()).where(OutboundMessage.client_id == dup["id"])) == 0
    assert db.scalar(select(func.count()).where(ConsentEvent.client_id == dup["id"])) == 0
    assert api.get(f"/clients/{dup['id']}").status_code == 404
    assert api.patch(f"/clients/{dup['id']}", {"sms_consent": False}).status_code == 404
    assert db.get(Client, dup["id"]).merged_into_id == kept["id"]  # the row stays
    assert client.get(two_records["feed"].split("ipt.example.test")[1]).status_code == 404
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.entity == "client")))
    assert {"client.merged", "client.merged_away"} <= actions
    # The phone is no longer a duplicate of two records, only of the kept one.
    again = api.post("/clients", client_body("Jo", "Q"))
    assert [e["id"] for e in again.json["existing"]] == [kept["id"]]


def test_merge_is_for_admins_and_refuses_nonsense(api, client, db, two_records):
    kept, dup = two_records["kept"], two_records["dup"]
    desk = Api(client, make_user_token(db, "desk@t.test", "front_desk"))
    assert (
        desk.post(f"/clients/{kept['id']}/merge", {"from_client_id": dup["id"]}).status_code == 403
    )
    assert (
        api.post(f"/clients/{kept['id']}/merge", {"from_client_id": kept["id"]}).status_code == 422
    )
    assert api.post(f"/clients/{kept['id']}/merge", {"from_client_id": 99999}).status_code == 422
    assert api.post("/clients/99999/merge", {"from_client_id": dup["id"]}).status_code == 404
    assert (
        api.post(f"/clients/{kept['id']}/merge", {"from_client_id": dup["id"]}).status_code == 200
    )
    # Merged away: it can no longer be merged, nor merged into.
    assert (
        api.post(f"/clients/{kept['id']}/merge", {"from_client_id": dup["id"]}).status_code == 422
    )
    assert (
        api.post(f"/clients/{dup['id']}/merge", {"from_client_id": kept["id"]}).status_code == 404
    )


def test_an_ambiguous_sender_is_resolved_by_the_merge(api, db, twilio, two_records):
    kept, dup = two_records["kept"], two_records["dup"]
    twilio.text("Running late, sorry", frm="+12065550142")
    [item] = items(db, kind="ambiguous_sender")
    assert item.client_id is None
    r = api.post(f"/clients/{kept['id']}/merge", {"from_client_id": dup["id"]})
    assert r.json["merged"]["resolved_inbox_items"] == [item.id]
    db.expire_all()
    item = db.get(InboxItem, item.id)
    assert item.client_id == kept["id"]
    assert db.get(InboundMessage, item.inbound_message_id).client_id == kept["id"]
    # And the next text from that phone has one sender.
    twilio.text("C", frm="+12065550142")
    latest = db.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
    assert latest.client_id == kept["id"] and latest.outcome == "confirmed"


def test_an_opt_out_on_the_shared_phone_carries_over(api, db, twilio, two_records):
    kept, dup = two_records["kept"], two_records["dup"]
    twilio.text("STOP", frm=db.get(Client, dup["id"]).phone)
    r = api.post(f"/clients/{kept['id']}/merge", {"from_client_id": dup["id"]})
    assert r.status_code == 200 and r.json["opted_out"] is True
    db.expire_all()
    pending = db.scalar(
        select(func.count()).where(
            OutboundMessage.client_id == kept["id"], OutboundMessage.status == "pending"
        )
    )
    assert pending == 0  # every text of both series is held
