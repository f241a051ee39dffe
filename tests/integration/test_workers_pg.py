"""Four worker processes on PostgreSQL, against a counting fake Twilio: exactly once, even after
one of them is killed with SIGKILL in the middle of a batch.

The workers are real `ipt-scheduler worker` processes with the `twilio` backend pointed at
`tests.support.fake_twilio_server` (TWILIO_API_BASE_URL), so claims, sends, records and the
reconciliation of a dead worker's claims all happen as in production. This test needs real
commits, so it makes (and drops) its own database; it runs only when TEST_DATABASE_URL is set.
"""

# Fixtures come from pg_support and are named as test parameters, which ruff reads as
# redefinitions.
# ruff: noqa: F811

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from scheduler.db.models import OutboundMessage
from tests.integration.pg_support import book, engine, pg_url  # noqa: F401  (fixtures)
from tests.support.fake_twilio_server import FakeTwilioServer
from tests.support.workers import (
    kill_one_holding_claims,
    seed_due_reminders,
    start_workers,
    statuses,
    stop,
    wait_until,
    worker_env,
)

# Worker and web processes read the machine's clock: so does the test that seeds them.
pytestmark = [pytest.mark.slow, pytest.mark.real_clock]

MESSAGES = 5000
WORKERS = 4


@pytest.fixture(scope="module")
def fake_twilio() -> Iterator[FakeTwilioServer]:
    # A few milliseconds per send keeps each worker mid-batch most of the time.
    with FakeTwilioServer(latency=0.004) as server:
        yield server


def check_exactly_once(engine: Engine, fake: FakeTwilioServer, kind: str) -> None:
    counts = fake.counts()
    assert sum(counts.values()) == MESSAGES, f"{sum(counts.values())} sends"
    assert set(counts.values()) == {1}, Counter(counts.values())
    by_sid = {m["sid"]: m for m in fake.messages()}
    with Session(engine) as db:
        rows = db.execute(
            select(
                OutboundMessage.provider_sid, OutboundMessage.to_number, OutboundMessage.body
            ).where(OutboundMessage.kind == kind)
        ).all()
    assert len(rows) == MESSAGES
    for sid, to, body in rows:
        assert sid in by_sid, "a row records a SID the provider never issued"
        assert (by_sid[sid]["to"], by_sid[sid]["body"]) == (to, body)


def test_four_workers_send_each_text_exactly_once(pg_url, engine, fake_twilio):
    seed_due_reminders(engine, MESSAGES, "reminder_24h", first_phone=5550000)
    fake_twilio.reset()
    workers = start_workers(worker_env(pg_url, fake_twilio.url), WORKERS)
    try:
        wait_until(
            lambda: statuses(engine, "reminder_24h")["sent"] == MESSAGES, 180, "all texts sent"
        )
    finally:
        problems = stop(workers)
    assert problems == []
    check_exactly_once(engine, fake_twilio, "reminder_24h")


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    pg_url, engine, fake_twilio
):
    seed_due_reminders(engine, MESSAGES, "reminder_2h", first_phone=5560000)
    fake_twilio.reset()
    workers = start_workers(worker_env(pg_url, fake_twilio.url), WORKERS)
    try:
        wait_until(lambda: fake_twilio.total_sends >= MESSAGES // 5, 120, "sending under way")
        # Kill a worker while it holds claimed texts (some sent and not yet recorded, some
        # unsent).
        orphans = kill_one_holding_claims(engine, workers)
        at_provider = {(m["to"], m["body"]) for m in fake_twilio.messages()}
        sent_unrecorded = [o for o in orphans if o in at_provider]
        wait_until(
            lambda: statuses(engine, "reminder_2h")["sent"] == MESSAGES,
            180,
            "the survivors to finish, reconciling the dead worker's claims",
        )
    finally:
        problems = stop(workers)
    assert problems == []
    assert orphans, "the worker died holding no claims: nothing was tested"
    print(f"killed holding {len(orphans)} claims, {len(sent_unrecorded)} already at Twilio")
    check_exactly_once(engine, fake_twilio, "reminder_2h")
