"""Many texts due at once and real worker processes sending them: the harness shared by the
multi-worker tests (tests/integration/test_workers_pg.py, test_fault_matrix.py) and
bench/faults.py.

`seed_due_reminders` writes N clients with one visit tomorrow and one reminder due now each
(bulk inserts, no planning); `start_workers` runs `ipt-scheduler worker` processes against a
database and a fake Twilio server; the rest watch and stop them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from scheduler.db.models import Client, OutboundMessage, Series, Therapist, TherapySession
from tests.support.scratch import daytime_zone

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_SID = "AC" + "5e" * 16
# Miami's own cap is one text a second; the rest use the (raised) global cap.
OFFICES = ("tucson", "folsom", "westwood", "baltimore", "parsippany", "dallas", "seattle")
_LOGS: dict[int, IO[bytes]] = {}


def seed_due_reminders(engine: Engine, count: int, kind: str, first_phone: int) -> None:
    """`count` clients with one visit tomorrow and one `kind` text due now each."""
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
            for i in range(count)
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


def worker_env(database_url: str, twilio_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a worker sending through the fake Twilio server at `twilio_url`."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOCATIONS_FILE": str(ROOT / "locations.yaml"),
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": "workers-test-token",
        "TWILIO_API_BASE_URL": twilio_url,
        "SMS_MAX_PER_SECOND": "100000",
        "DISPATCH_INTERVAL_SECONDS": "1",
        "DISPATCH_CLAIM_TIMEOUT_SECONDS": "8",
        "DISPATCH_BATCH_SIZE": "50",
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }
    env.pop("TWILIO_MESSAGING_SERVICE_SID", None)
    return env


def start_workers(env: Mapping[str, str], n: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-c", "from scheduler.cli import main; main()", "worker"]
    workers = []
    for _ in range(n):
        # A file, not a pipe: nobody reads the output until the end, and a full pipe would
        # block the worker's logging.
        log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in output())
        workers.append(
            subprocess.Popen(command, env=dict(env), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        )
        _LOGS[workers[-1].pid] = log
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
    log = _LOGS.pop(worker.pid, None)
    if log is None:
        return ""
    log.seek(0)
    text = log.read().decode(errors="replace")
    log.close()
    return text[-3000:]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
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


def kill_one_holding_claims(
    engine: Engine, workers: list[subprocess.Popen[bytes]], timeout: float = 60
) -> list[tuple[str, str]]:
    """SIGKILL the first worker seen holding claimed texts; returns what it held when it died.

    Claims are held for a moment only, so every worker is watched; the victim may finish its
    batch between our look and the kill, and then the next one seen holding claims is taken.
    One worker is always left alive.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [w for w in workers if w.poll() is None]
        if len(alive) < 2:
            break
        for victim in alive:
            if held_by(engine, victim.pid):
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait(timeout=10)
                orphans = held_by(engine, victim.pid)
                if orphans:
                    return orphans
                break
        time.sleep(0.01)
    return []
