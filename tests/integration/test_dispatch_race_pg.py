"""Desk changes racing real sends on PostgreSQL, on connections of their own: no stale text.

The gateway pauses before each send, widening the gap between the dispatcher's check and the
request; a text that left after its visit's move had committed, with the old time in it,
would be a stale send. Needs real commits, hence its own database (pg_support).
"""

# Fixtures come from pg_support and are named as test parameters, which ruff reads as
# redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from zoneinfo import ZoneInfo

import pytest

from scheduler.config import Settings
from scheduler.db.models import OutboundMessage
from scheduler.formats import format_text_when as format_when
from scheduler.services import session_changes
from scheduler.sms.fake import FakeGateway
from scheduler.texts.send import Dispatcher
from scheduler.wiring import build
from tests import factories
from tests.integration.pg_support import ROOT, book, engine, pg_url  # noqa: F401  (fixtures)
from tests.support.scratch import daytime_zone

pytestmark = pytest.mark.slow


def test_reschedules_racing_sends_never_let_a_stale_text_out(pg_url, engine, book):
    settings = replace(
        Settings(),
        database_url=pg_url,
        locations_file=ROOT / "locations.yaml",
        sms_max_per_second=1000.0,
    )
    container = build(settings, locations=book, engine=engine)
    ctx = container.ctx
    zone = daytime_zone()
    today = datetime.now(ZoneInfo("America/Chicago")).date()
    visit_day = today + timedelta(days=(2 - today.weekday()) % 7 + 7)  # a Wednesday, next week
    sessions: dict[str, tuple[int, datetime]] = {}  # phone -> (first session id, start)
    with container.sessions.begin() as db:
        for _ in range(30):
            c = factories.client(db, ctx, "dallas", timezone=zone)
            s = factories.series(
                db, ctx, office="dallas", client_obj=c, first=visit_day, at=wall_time(10)
            )
            sessions[c.phone] = (s.sessions[0].id, s.sessions[0].starts_at)
        ids = [sid for sid, _ in sessions.values()]
        db.execute(
            OutboundMessage.__table__.update()
            .where(OutboundMessage.session_id.in_(ids), OutboundMessage.kind == "reminder_24h")
            .values(send_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        # The confirmations are not what this test is about.
        db.execute(
            OutboundMessage.__table__.update()
            .where(OutboundMessage.kind == "booking_confirmation")
            .values(status="cancelled")
        )

    sends: list[tuple[float, str, str]] = []
    commits: dict[str, float] = {}

    class SlowToLeave(FakeGateway):
        def send(self, message):  # type: ignore[no-untyped-def]
            time.sleep(0.03)  # between the check and the request leaving
            sends.append((time.monotonic(), message.to, message.body))
            return super().send(message)

    def desk() -> None:
        for phone, (session_id, _start) in sessions.items():
            with container.sessions.begin() as db:
                session_changes.reschedule(
                    db, ctx, session_id, datetime.combine(visit_day, wall_time(11)), actor="desk"
                )
            commits[phone] = time.monotonic()
            time.sleep(0.01)

    dispatcher = Dispatcher(
        container.sessions, ctx, SlowToLeave(), worker_id="race", batch_size=5, concurrency=2
    )
    mover = threading.Thread(target=desk)
    mover.start()
    try:
        while mover.is_alive():
            dispatcher.run_pass()
        dispatcher.run_pass()
    finally:
        mover.join()
        dispatcher.close()

    stale = []
    for at, phone, body in sends:
        old = format_when(sessions[phone][1], zone)
        # A move notice names the old time on purpose ("moved from ... to ..."); a reminder
        # naming it after the move committed is stale.
        if (
            "visit 1 of" in body
            and "moved from" not in body
            and old in body
            and at > commits[phone]
        ):
            stale.append(body)
    assert stale == []
    reminders = [b for _, _, b in sends if "visit 1 of" in b]
    changed = [b for _, _, b in sends if "moved from" in b]
    assert reminders or changed  # the race happened on some sessions at least
