"""POST /webhooks/twilio/status: signature checked against PUBLIC_BASE_URL, forward-only status."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from scheduler.config import Settings
from scheduler.db.models import Client, OutboundMessage
from scheduler.db.models.inbound import InboxItem
from tests import factories

TOKEN = "status-callback-test-token-0123"
BASE = "https://ipt.example.test"
PATH = "/webhooks/twilio/status"


@pytest.fixture(name="settings")
def settings_with_token(settings: Settings) -> Settings:
    return replace(settings, twilio_auth_token=TOKEN, public_base_url=BASE)


def signature(params: dict[str, str], url: str = BASE + PATH, token: str = TOKEN) -> str:
    # Twilio's scheme, written out independently: HMAC-SHA1 over the URL followed by each
    # parameter name and value in name order, base64-encoded.
    payload = url + "".join(k + params[k] for k in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def post(client, params: dict[str, str], sig: str | None = None):
    return client.post(
        PATH,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature(params) if sig is None else sig},
    )


@pytest.fixture
def sent(db, ctx) -> OutboundMessage:
    c = factories.client(db, ctx)
    row = OutboundMessage(
        client_id=c.id,
        office_id="seattle",
        kind="reminder_2h",
        status="sent",
        provider_sid="SM" + "a" * 32,
        provider_status="queued",
        attempts=1,
        send_at=datetime.now(UTC),
        expires_at=datetime.now(UTC) + timedelta(days=1),
        sent_at=datetime.now(UTC),
    )
    db.add(row)
    db.commit()
    return row


def fresh(db, row: OutboundMessage) -> OutboundMessage:
    db.expire_all()
    return db.scalar(select(OutboundMessage).where(OutboundMessage.id == row.id))


def report(sent: OutboundMessage, status: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sent.provider_sid or "",
        "MessageStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "To": "+12065550123",
        **extra,
    }


def test_delivered_moves_forward_and_never_back(client, db, sent):
    assert post(client, report(sent, "sent")).status_code == 200
    assert post(client, report(sent, "delivered")).status_code == 200
    row = fresh(db, sent)
    assert (row.status, row.provider_status) == ("delivered", "delivered")
    late = post(client, report(sent, "sent"))  # a delayed, older report
    assert late.status_code == 200 and late.get_json()["outcome"].startswith("ignored")
    assert fresh(db, sent).provider_status == "delivered"


def test_unsigned_or_misaddressed_reports_are_refused(client, db, sent):
    params = report(sent, "delivered")
    assert post(client, params, sig="").status_code == 403
    assert (
        post(client, params, sig=signature(params, url="http://localhost" + PATH)).status_code
        == 403
    )
    assert post(client, params, sig=signature(params, token="wrong")).status_code == 403
    tampered = {**params, "MessageStatus": "failed"}
    assert post(client, tampered, sig=signature(params)).status_code == 403
    assert fresh(db, sent).provider_status == "queued"


def test_without_an_auth_token_nothing_is_accepted(client, container, db, sent):
    container.settings = replace(container.settings, twilio_auth_token=None)
    assert post(client, report(sent, "delivered")).status_code == 403
    assert fresh(db, sent).status == "sent"


def test_undelivered_to_a_dead_number_flags_the_client(client, db, sent):
    response = post(client, report(sent, "undelivered", ErrorCode="30006"))
    assert response.status_code == 200
    row = fresh(db, sent)
    assert (row.status, row.error_code) == ("failed", 30006)
    client_row = db.get(Client, row.client_id)
    assert client_row.phone_undeliverable_at is not None


def test_unreachable_handset_is_tried_again(client, db, sent):
    post(client, report(sent, "undelivered", ErrorCode="30003"))
    row = fresh(db, sent)
    assert row.status == "pending" and row.error_code == 30003
    assert row.next_attempt_at is not None and row.next_attempt_at > datetime.now(UTC)


def test_bad_reports_get_a_clear_400(client, sent):
    response = post(client, {"MessageStatus": "delivered"})
    assert response.status_code == 400 and "MessageSid" in response.get_json()["fields"]
    response = post(client, report(sent, "failed", ErrorCode="abc"))
    assert response.status_code == 400 and "ErrorCode" in response.get_json()["fields"]


def test_a_report_for_an_unknown_message_is_acknowledged(client):
    params = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered"}
    response = post(client, params)
    assert response.status_code == 200 and response.get_json()["outcome"] == "unknown message"


def open_items(db, client_id: int) -> list[tuple[str, str]]:
    items = db.scalars(select(InboxItem).where(InboxItem.client_id == client_id)).all()
    return [(i.kind, i.status) for i in items]


@pytest.mark.parametrize(
    ("code", "undeliverable"),
    [(30004, True), (30005, True), (30006, True), (30007, False)],
)
def test_undelivered_for_good_fails_the_text_and_tells_the_desk(
    client, db, sent, code, undeliverable
):
    assert post(client, report(sent, "undelivered", ErrorCode=str(code))).status_code == 200
    row = fresh(db, sent)
    assert (row.status, row.error_code) == ("failed", code)
    client_row = db.get(Client, row.client_id)
    assert (client_row.phone_undeliverable_at is not None) is undeliverable
    kind = "undeliverable_phone" if undeliverable else "text_failed"
    assert open_items(db, row.client_id) == [(kind, "open")]
    summary = db.scalars(select(InboxItem.summary).where(InboxItem.client_id == row.client_id))
    assert str(code) in next(iter(summary))


@pytest.mark.parametrize("code", [30003, 30008])
def test_unreachable_or_unknown_retries_a_few_times_then_tells_the_desk(client, db, sent, code):
    for attempt in range(1, 4):
        row = fresh(db, sent)
        # Each retry is sent again and gets a SID of its own; the report names that one.
        row.status, row.attempts = "sent", attempt
        row.provider_sid, row.provider_status = f"SM{attempt:032d}", "queued"
        db.commit()
        post(client, report(row, "undelivered", ErrorCode=str(code)))
        row = fresh(db, sent)
        if attempt < 3:
            assert row.status == "pending" and open_items(db, row.client_id) == []
    assert (row.status, row.error_code) == ("failed", code)
    assert open_items(db, row.client_id) == [("text_failed", "open")]
    assert db.get(Client, row.client_id).phone_undeliverable_at is None  # the number stays


def test_reports_out_of_order_only_move_forward(client, db, sent):
    post(client, report(sent, "delivered"))
    # A failure reported after delivery is ignored: the handset had it.
    late = post(client, report(sent, "undelivered", ErrorCode="30003"))
    assert late.get_json()["outcome"].startswith("ignored")
    post(client, report(sent, "queued"))
    post(client, report(sent, "sending"))
    row = fresh(db, sent)
    assert (row.status, row.provider_status, row.error_code) == ("delivered", "delivered", None)
    assert open_items(db, row.client_id) == []


def test_sent_after_queued_and_delivered_after_a_late_sent(client, db, sent):
    post(client, report(sent, "sending"))
    post(client, report(sent, "sent"))
    post(client, report(sent, "queued"))  # late: ignored
    assert fresh(db, sent).provider_status == "sent"
    post(client, report(sent, "delivered"))
    post(client, report(sent, "sent"))  # late again
    row = fresh(db, sent)
    assert (row.status, row.provider_status) == ("delivered", "delivered")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ErrorCode", "9" * 20),  # was a 500: past the INTEGER column (2^31 on PostgreSQL)
        ("ErrorCode", "2147483648"),
        ("ErrorMessage", "bad\x00byte"),
        ("MessageStatus", "x" * 21),
        ("MessageSid", "SM" + "a" * 70),
    ],
)
def test_out_of_range_fields_answer_400_and_write_nothing(client, db, sent, field, value):
    params = report(sent, "undelivered", ErrorCode="30006")
    params[field] = value
    before = (sent.status, sent.provider_status, sent.error_code)
    response = post(client, params)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    db.refresh(sent)
    assert (sent.status, sent.provider_status, sent.error_code) == before
    assert db.scalars(select(InboxItem)).all() == []
