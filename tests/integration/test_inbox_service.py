"""The inbox and inbound services on their own: idempotency, atomicity, the dispatcher's hook."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from scheduler.db.models import AuditEntry, Client
from scheduler.db.models.inbound import InboundMessage, InboxItem
from scheduler.db.models.messaging import OutboundMessage
from scheduler.services import inbound, inbox
from scheduler.services.errors import Invalid, NotFound
from scheduler.services.inbound import InboundSms
from tests import factories

NOW = datetime(2026, 11, 27, 15, tzinfo=UTC)
SEATTLE_SMS = "+12065550191"


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def _sms(body: str, phone: str, sid: str = "SM" + "a" * 32) -> InboundSms:
    return InboundSms(sid, phone, SEATTLE_SMS, body)


def test_an_undeliverable_phone_opens_one_item_until_it_is_resolved(db, ctx):
    client = factories.client(db, ctx, home="dallas")
    first = inbox.report_undeliverable_phone(db, client, "21211 invalid 'To' number", at=NOW)
    again = inbox.report_undeliverable_phone(db, client, "30006 landline", at=NOW)
    assert again.id == first.id
    assert (first.office_id, first.kind, first.client_id) == (
        "dallas",
        "undeliverable_phone",
        client.id,
    )
    inbox.update_item(db, first.id, status="resolved", note="new number", actor="desk", at=NOW)
    later = inbox.report_undeliverable_phone(db, client, "21614 not a mobile", at=NOW)
    assert later.id != first.id and "21614" in later.summary


def test_items_have_known_kinds_only(db):
    with pytest.raises(ValueError, match="unknown inbox kind"):
        inbox.open_item(db, office_id="seattle", kind="gossip", summary="", at=NOW)


def test_an_update_needs_a_change_and_audits_only_real_ones(db):
    item = inbox.open_item(db, office_id="seattle", kind="free_text", summary="hi", at=NOW)
    with pytest.raises(Invalid):
        inbox.update_item(db, item.id, status=None, note=None, actor="desk", at=NOW)
    with pytest.raises(NotFound):
        inbox.update_item(db, 10**9, status="resolved", note=None, actor="desk", at=NOW)
    audits = _count(db, AuditEntry)
    inbox.update_item(db, item.id, status="open", note=None, actor="desk", at=NOW)  # no change
    assert _count(db, AuditEntry) == audits
    inbox.update_item(db, item.id, status=None, note="left a voicemail", actor="desk", at=NOW)
    assert _count(db, AuditEntry) == audits + 1
    assert item.status == "open" and item.note == "left a voicemail"


def test_listing_nothing_returns_nothing(db):
    inbox.open_item(db, office_id="seattle", kind="free_text", summary="hi", at=NOW)
    assert inbox.list_items(db, office_ids=[], include_unrouted=False, status=None) == []


def test_a_failure_midway_leaves_nothing_behind(db, ctx, monkeypatch):
    client = factories.client(db, ctx)
    db.commit()
    before = (_count(db, InboundMessage), _count(db, InboxItem))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(inbox, "open_item", broken)
    with pytest.raises(RuntimeError):
        inbound.receive(db, ctx, _sms("running late", client.phone))
    db.rollback()
    assert (_count(db, InboundMessage), _count(db, InboxItem)) == before
    monkeypatch.undo()
    # Twilio's retry of the same MessageSid then succeeds: the failed attempt claimed nothing.
    receipt = inbound.receive(db, ctx, _sms("running late", client.phone))
    assert receipt.outcome == "inbox" and not receipt.duplicate


def test_a_retry_is_recognised_by_its_message_sid(db, ctx):
    client = factories.client(db, ctx)
    first = inbound.receive(db, ctx, _sms("R", client.phone))
    second = inbound.receive(db, ctx, _sms("R", client.phone))
    assert not first.duplicate and second.duplicate
    assert second.reply == first.reply and second.message_id == first.message_id
    assert _count(db, InboxItem) == 1


def test_opt_out_stops_pending_texts_and_opt_in_plans_them_again(db, ctx):
    series = factories.series(db, ctx)
    client_id = series.client_id

    def pending() -> int:
        query = select(func.count()).where(
            OutboundMessage.client_id == client_id, OutboundMessage.status == "pending"
        )
        return db.scalar(query) or 0

    assert pending() > 0
    inbound.receive(db, ctx, _sms("STOP", series.client.phone, sid="SM" + "b" * 32))
    assert pending() == 0
    client = db.get(Client, client_id)
    assert client is not None and client.opted_out_at is not None
    later = replace(ctx, clock=lambda: datetime.now(UTC) + timedelta(minutes=5))
    inbound.receive(db, later, _sms("START", series.client.phone, sid="SM" + "c" * 32))
    assert client.opted_out_at is None
    assert pending() > 0
