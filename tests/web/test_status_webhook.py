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
