"""Helpers for the two-way SMS tests: a Twilio stand-in that signs like Twilio, and counters.

Signatures are computed with twilio's own RequestValidator, so a test passes only if the app
checks exactly what Twilio signs. Test modules import the fixtures `settings_with_auth_token`
(registered as `settings`) and `twilio_fixture` (registered as `twilio`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from scheduler.config import Settings
from scheduler.db.models import AuditEntry, Client, ConsentEvent, TherapySession
from scheduler.db.models.inbound import InboundMessage, InboxItem, ProgressRating
from scheduler.db.models.messaging import OutboundMessage

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC_BASE = "https://ipt.example.test"
INBOUND_PATH = "/webhooks/twilio/inbound"
INBOUND_URL = PUBLIC_BASE + INBOUND_PATH
SEATTLE_SMS = "+12065550191"
DALLAS_SMS = "+12145550181"
ACCOUNT = "AC" + "0" * 32

_sids = itertools.count(1)


def new_sid() -> str:
    return f"SM{next(_sids):032x}"


@pytest.fixture(name="settings")
def settings_with_auth_token(settings: Settings) -> Settings:
    """The suite's settings with a Twilio auth token, so webhooks can be verified."""
    return replace(settings, twilio_auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE)


def sign(params: Mapping[str, str], url: str = INBOUND_URL, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, dict(params))


class Twilio:
    """Posts form-encoded webhooks to the app the way Twilio does."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def post(
        self,
        params: Mapping[str, str],
        *,
        signature: str | None = "auto",
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        all_headers = dict(headers or {})
        if signature == "auto":
            signature = sign(params)
        if signature is not None:
            all_headers["X-Twilio-Signature"] = signature
        data = raw if raw is not None else urlencode(dict(params)).encode()
        return self.client.post(
            INBOUND_PATH,
            data=data,
            headers=all_headers,
            content_type="application/x-www-form-urlencoded",
        )

    def text(self, body: str, *, frm: str, to: str = SEATTLE_SMS, sid: str | None = None) -> Any:
        return self.post(params(body, frm=frm, to=to, sid=sid))


def params(body: str, *, frm: str, to: str = SEATTLE_SMS, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or new_sid(),
        "AccountSid": ACCOUNT,
        "From": frm,
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }


@pytest.fixture(name="twilio")
def twilio_fixture(client: FlaskClient) -> Twilio:
    return Twilio(client)


def reply_text(response: Any) -> str | None:
    """The <Message> text of a TwiML answer (None for an empty <Response/>)."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    root = ElementTree.fromstring(response.get_data())
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) <= 1
    return messages[0].text if messages else None


def counts(db: Session) -> dict[str, int]:
    """Rows in every table a text can write to, to prove that nothing was written."""
    db.expire_all()
    tables = (
        InboundMessage,
        InboxItem,
        ProgressRating,
        AuditEntry,
        ConsentEvent,
        OutboundMessage,
    )
    found = {t.__tablename__: db.scalar(select(func.count()).select_from(t)) or 0 for t in tables}
    found["opted_out"] = (
        db.scalar(select(func.count()).select_from(Client).where(Client.opted_out_at.is_not(None)))
        or 0
    )
    found["confirmed"] = (
        db.scalar(
            select(func.count())
            .select_from(TherapySession)
            .where(TherapySession.confirmed_at.is_not(None))
        )
        or 0
    )
    return found


def items(db: Session, **where: Any) -> list[InboxItem]:
    db.expire_all()
    query = select(InboxItem).filter_by(**where).order_by(InboxItem.id)
    return list(db.scalars(query))


def sent_goal_prompt(
    db: Session, client: Client, session: TherapySession, *, sent_at: datetime
) -> OutboundMessage:
    """A goal prompt the dispatcher has sent, as issue 3's rows look after sending."""
    message = OutboundMessage(
        client_id=client.id,
        session_id=session.id,
        series_id=session.series_id,
        office_id=session.office_id,
        kind="goal_prompt",
        send_at=sent_at,
        expires_at=sent_at + timedelta(hours=10),
        status="delivered",
        provider_sid=f"SM{next(_sids):032x}",
        body="Hi Casey, how did this week go? Reply 1-5 (5 = great) or a few words.",
        prompt_id="test-prompt",
        sent_at=sent_at,
        created_at=sent_at - timedelta(days=2),
        updated_at=sent_at,
    )
    db.add(message)
    db.commit()
    return message
