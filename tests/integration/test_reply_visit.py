"""A client's free text is filed under the visit it most likely concerns."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from scheduler.db.models.inbound import InboundMessage
from scheduler.services import inbound, session_changes
from scheduler.services.inbound import InboundSms
from tests.integration.dispatch_support import book
from tests.web.inbound_support import sent_goal_prompt

SEATTLE_SMS = "+12065550191"
_sids = count(1)


def text(db, tctx, client, body: str = "Running 10 min late, sorry") -> int | None:
    sms = InboundSms(f"SM{next(_sids):032x}", client.phone, SEATTLE_SMS, body)
    receipt = inbound.receive(db, tctx, sms)
    db.commit()
    assert receipt.outcome == "inbox"
    return db.get(InboundMessage, receipt.message_id).session_id


def test_edges(db, tctx, clock):
    series = book(db, tctx)
    first, second = series.sessions[0], series.sessions[1]
    client = series.client
    clock.now = first.starts_at - timedelta(days=1)  # none today: the next one
    assert text(db, tctx, client) == first.id
    clock.now = first.starts_at - timedelta(hours=2, minutes=59)
    assert text(db, tctx, client) == first.id
    clock.now = first.starts_at + timedelta(minutes=10)  # under way
    assert text(db, tctx, client) == first.id
    clock.now = first.ends_at + timedelta(minutes=1)  # just ended
    assert text(db, tctx, client) == second.id


def test_under_way_wins_over_last_weeks_prompt(db, tctx, clock):
    series = book(db, tctx)
    first, second = series.sessions[0], series.sessions[1]
    sent_goal_prompt(db, series.client, first, sent_at=first.starts_at + timedelta(days=2))
    clock.now = second.starts_at + timedelta(minutes=10)
    assert text(db, tctx, series.client) == second.id
    # Days from any visit, the same words are most likely an answer to the prompt.
    clock.now = first.starts_at + timedelta(days=3)
    assert text(db, tctx, series.client, "It went well") == first.id


def test_an_attended_visit_under_way_is_still_today(db, tctx, clock):
    series = book(db, tctx)
    first = series.sessions[0]
    clock.now = first.starts_at + timedelta(minutes=5)
    session_changes.mark(db, tctx, first.id, "attended", actor="desk")
    db.commit()
    assert text(db, tctx, series.client, "Left my umbrella in the room") == first.id


def test_none_at_all(db, tctx, clock):
    series = book(db, tctx)
    session_changes.cancel_rest(
        db, tctx, series.id, cancelled_by="client", reason=None, actor="desk"
    )
    db.commit()
    assert text(db, tctx, series.client) is None
