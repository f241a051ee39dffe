"""In Chromium: an urgent possible opt-out heads the office inbox, and the client page shows
the number's opt-outs and opt-ins (never the client's words)."""

from __future__ import annotations

import itertools
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from scheduler.db.models import Client, Series
from tests.browser.conftest import TWILIO_TOKEN, LiveApp, screenshot
from tests.browser.test_frontdesk_browser import sign_in

pytestmark = pytest.mark.browser

SEATTLE_SMS = "+12065550191"
_sids = itertools.count(1)


def _text(live_app: LiveApp, body: str, sender: str) -> int:
    url = live_app.url("/webhooks/twilio/inbound")
    params = {
        "MessageSid": f"SM{next(_sids):030x}c0",
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


def _seattle_client(live_app: LiveApp) -> Client:
    with live_app.container.sessions() as db:
        query = (
            select(Client)
            .join(Series, Series.client_id == Client.id)
            .where(Series.office_id == "seattle", Client.merged_into_id.is_(None))
            .order_by(Client.id)
        )
        found = db.scalars(query).first()
        assert found is not None, "the demo has no Seattle client"
        db.expunge(found)
        return found


def test_possible_opt_out_is_urgent_and_the_number_history_shows(
    desktop: Any, live_app: LiveApp
) -> None:
    client = _seattle_client(live_app)
    page = desktop.new_page()
    sign_in(page, live_app)
    assert _text(live_app, "I need to cancel Tuesday's session", client.phone) == 200
    page.goto(live_app.url("/offices/seattle/inbox"))
    first = page.locator(".inbox-item").first
    assert "Urgent" in first.inner_text()
    assert "Possible opt out" in first.inner_text()
    assert "may ask us to stop all texts" in first.inner_text()
    screenshot(page, "inbox-possible-opt-out-1280")

    assert _text(live_app, "please stop texting me, my sister reads them", client.phone) == 200
    assert _text(live_app, "START", client.phone) == 200
    page.goto(live_app.url(f"/clients/{client.id}"))
    history = page.locator("table.number-consent")
    assert history.locator("tbody tr").count() == 2
    text = history.inner_text()
    assert "opted out" in text and "opted back in" in text and "texted in plain words" in text
    assert "sister" not in page.inner_text("main")
    screenshot(page, "client-number-consent-1280")
