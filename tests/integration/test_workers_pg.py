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

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import IO

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from scheduler.db.models import Client, OutboundMessage, Series, Therapist, TherapySession
from tests.integration.pg_support import ROOT, book, engine, pg_url  # noqa: F401  (fixtures)
from tests.support.fake_twilio_server import FakeTwilioServer
from tests.support.scratch import daytime_zone

pytestmark = pytest.mark.slow

ACCOUNT_SID = "AC" + "5e" * 16
MESSAGES = 5000
WORKERS = 4
# Miami's own cap is one text a second; the rest use the (raised) global cap.
OFFICES = ("tucson", "folsom", "westwood", "baltimore", "parsippany", "dallas", "seattle")
CLAIM_TIMEOUT_S = 8
LOGS: dict[int, IO[bytes]] = {}


@pytest.fixture(scope="module")
def fake_twilio() -> Iterator[FakeTwilioServer]:
    # A few milliseconds per send keeps each worker mid-batch most of the time.
    with FakeTwilioServer(latency=0.004) as server:
        yield server


def seed(engine: Engine, kind: str, first_phone: int) -> None:
    """MESSAGES clients with one visit tomorrow and one due reminder each."""
    now = datetime.now(UTC)
    starts = now + timedelta(days=1)
    zone = daytime_zone()
    with Session(engine) as db, db.begin():
        therapist = Therapist(name="Dr. Load", email=f"load-{uuid.uuid4().hex[:8]}@test.invalid")
        db.add(therapist)
        db.flush()
        clients = [
            {
                "first_name": f"Client{i}",
                "last_name": "Load",
                "phone": f"+1206{first_phone + i:07d}",
                "timezone": zone,
                "home_office_id": OFFICES[i % len(OFFICES)],
                "sms_consent": True,
                "goal_prompt_consent": True,
                "goal_detail_consent": False,
                "created_at": now,
            }
            for i in range(MESSAGES)
        ]
        client_ids = db.scalars(insert(Client).returning(Client.id), clients).all()
        series_rows = [
            {
                "client_id": cid,
                "therapist_id": therapist.id,
                "office_id": OFFICES[i % len(OFFICES)],
                "first_session_date": date.today(),
                "start_time": starts.time(),
                "session_count": 12,
                "duration_minutes": 50,
                "problem_area": "grief",
                "status": "active",
                "created_at": now,
            }
            for i, cid in enumerate(client_ids)
        ]
        series_ids = db.scalars(insert(Series).returning(Series.id), series_rows).all()
        sessions = [
            {
                "series_id": sid,
                "therapist_id": therapist.id,
                "office_id": OFFICES[i % len(OFFICES)],
                "number": 1,
                "counts": True,
                "is_make_up": False,
                "local_date": starts.date(),
                "local_time": starts.time(),
                "timezone": "UTC",
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=50),
                "status": "scheduled",
                "revision": 0,
                "updated_at": now,
            }
            for i, sid in enumerate(series_ids)
        ]
        session_ids = db.scalars(
            insert(TherapySession).returning(TherapySession.id), sessions
        ).all()
        db.execute(
            insert(OutboundMessage),
            [
                {
                    "client_id": cid,
                    "session_id": sess,
                    "series_id": sid,
                    "office_id": OFFICES[i % len(OFFICES)],
                    "kind": kind,
                    "send_at": now - timedelta(minutes=1),
                    "expires_at": starts,
                    "status": "pending",
                    "attempts": 0,
                    "session_revision": 0,
                    "session_starts_at": starts,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, (cid, sid, sess) in enumerate(
                    zip(client_ids, series_ids, session_ids, strict=True)
                )
            ],
        )


def start_workers(pg_url: str, fake: FakeTwilioServer, n: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "LOCATIONS_FILE": str(ROOT / "locations.yaml"),
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": "workers-test-token",
        "TWILIO_API_BASE_URL": fake.url,
        "SMS_MAX_PER_SECOND": "100000",
        "DISPATCH_INTERVAL_SECONDS": "1",
        "DISPATCH_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT_S),
        "DISPATCH_BATCH_SIZE": "50",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TWILIO_MESSAGING_SERVICE_SID", None)
    command = [sys.executable, "-c", "from scheduler.cli import main; main()", "worker"]
    workers = []
    for _ in range(n):
        # A file, not a pipe: nobody reads the output until the end, and a full pipe would
        # block the worker's logging.
        log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in output())
        workers.append(
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        )
        LOGS[workers[-1].pid] = log
    return workers


def stop(workers: list[subprocess.Popen[bytes]]) -> list[str]:
    """SIGTERM the live workers; return the output of any that did not exit cleanly."""
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    problems = []
    for w in workers:
        try:
            w.wait(timeout=30)
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()
            problems.append("did not stop on SIGTERM:\n" + output(w))
            continue
        if w.returncode not in (0, -signal.SIGKILL):
            problems.append(f"exit {w.returncode}:\n" + output(w))
        else:
            output(w)  # closes the log
    return problems


def output(worker: subprocess.Popen[bytes]) -> str:
    log = LOGS.pop(worker.pid)
    log.seek(0)
    text = log.read().decode(errors="replace")
    log.close()
    return text[-3000:]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(engine: Engine, kind: str) -> Counter[str]:
    with Session(engine) as db:
        return Counter(
            dict(
                db.execute(
                    select(OutboundMessage.status, func.count())
                    .where(OutboundMessage.kind == kind)
                    .group_by(OutboundMessage.status)
                ).all()
            )
        )


def held_by(engine: Engine, pid: int) -> list[tuple[str, str]]:
    """(number, body) of the texts a worker process has claimed and not yet recorded."""
    with Session(engine) as db:
        rows = db.execute(
            select(OutboundMessage.to_number, OutboundMessage.body).where(
                OutboundMessage.status == "sending",
                OutboundMessage.claimed_by.like(f"%:{pid}:%"),
            )
        ).all()
    return [(to, body) for to, body in rows]


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
    seed(engine, "reminder_24h", first_phone=5550000)
    fake_twilio.reset()
    workers = start_workers(pg_url, fake_twilio, WORKERS)
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
    seed(engine, "reminder_2h", first_phone=5560000)
    fake_twilio.reset()
    workers = start_workers(pg_url, fake_twilio, WORKERS)
    try:
        wait_until(lambda: fake_twilio.total_sends >= MESSAGES // 5, 120, "sending under way")
        # Kill a worker while it holds claimed texts (some sent and not yet recorded, some
        # unsent). It may finish its batch between our look and the kill; then the next
        # worker is the victim, leaving at least one survivor.
        orphans: list[tuple[str, str]] = []
        for victim in workers[: WORKERS - 1]:
            wait_until(lambda v=victim: len(held_by(engine, v.pid)) > 0, 60, "a batch in hand")
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(timeout=10)
            orphans = held_by(engine, victim.pid)
            if orphans:
                break
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
