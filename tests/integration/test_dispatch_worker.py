"""The worker and `dispatch --once` as processes and commands, on an embedded SQLite file.

The console backend prints each text and hands out fake SIDs, so what was sent can be read
back from the database. (The four-process PostgreSQL test is test_workers_pg.py.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.cli import main
from scheduler.config import Settings
from scheduler.db.migrate import upgrade
from scheduler.db.models import OutboundMessage
from scheduler.services.directory import sync_offices
from scheduler.wiring import build
from tests import factories
from tests.support.scratch import daytime_zone, scratch_database

ROOT = Path(__file__).resolve().parents[2]
# The worker process reads the machine's clock: so does the test that seeds it.
pytestmark = pytest.mark.real_clock


@pytest.fixture
def sqlite_url() -> Iterator[str]:
    with scratch_database("sqlite", prefix="ipt_worker") as url:
        yield url


@pytest.fixture
def booked(sqlite_url: str) -> list[int]:
    """Two clients booked (their confirmations due now), committed to a file database."""
    from dataclasses import replace

    settings = replace(Settings(), database_url=sqlite_url, locations_file=ROOT / "locations.yaml")
    container = build(settings)
    upgrade(container.engine)
    with Session(container.engine) as db, db.begin():
        sync_offices(db, container.locations)
    ids = []
    with container.sessions.begin() as db:
        for _ in range(2):
            c = factories.client(db, container.ctx, "dallas", timezone=daytime_zone())
            factories.series(db, container.ctx, office="dallas", client_obj=c)
            ids.append(c.id)
    container.close()
    return ids


def confirmations(url: str) -> list[tuple[str, str | None]]:
    from sqlalchemy import create_engine

    engine = create_engine(url, hide_parameters=True)
    with Session(engine) as db:
        found = db.execute(
            select(OutboundMessage.status, OutboundMessage.provider_sid).where(
                OutboundMessage.kind == "booking_confirmation"
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in found]


def test_dispatch_once_sends_what_is_due(sqlite_url, booked, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LOCATIONS_FILE", str(ROOT / "locations.yaml"))
    monkeypatch.delenv("SMS_BACKEND", raising=False)
    result = CliRunner().invoke(main, ["dispatch", "--once"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    assert stats["sent"] == 2
    assert "you're booked at Dallas" in result.stdout  # the console backend printed them
    assert [s for s, _ in confirmations(sqlite_url)] == ["sent", "sent"]
    again = CliRunner().invoke(main, ["dispatch", "--once"])
    assert json.loads(again.stdout.strip().splitlines()[-1])["sent"] == 0
    refused = CliRunner().invoke(main, ["dispatch"])
    assert refused.exit_code == 2 and "--once" in refused.stderr


def test_worker_sends_and_stops_cleanly_on_sigterm(sqlite_url, booked, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "LOCATIONS_FILE": str(ROOT / "locations.yaml"),
        "SMS_BACKEND": "console",
        "DISPATCH_INTERVAL_SECONDS": "1",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-c", "from scheduler.cli import main; main()", "worker"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if [s for s, _ in confirmations(sqlite_url)] == ["sent", "sent"]:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError("the worker sent nothing:\n" + log.read_text())
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=30)
    text = log.read_text()
    assert code == 0, text
    assert "signal 15, stopping" in text
    assert all(sid and sid.startswith("SM") for _, sid in confirmations(sqlite_url))
    # Library chatter stays out of the log (APScheduler and the twilio SDK are chatty at INFO).
    assert "Added job" not in text and "Running job" not in text
