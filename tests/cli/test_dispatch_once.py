"""`ipt-scheduler dispatch --once` when Twilio misbehaves: it still sends what is due, exits 0.

Its own scratch database (committed rows, as an operator's would be) and the fake Twilio
server. The same command against the static Prism mock is in test_twilio_contract.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from scheduler.cli import main
from scheduler.db.migrate import upgrade
from scheduler.db.models import OutboundMessage
from scheduler.db.session import make_engine
from scheduler.services.directory import sync_offices
from tests.support.fake_twilio_server import FakeTwilioServer
from tests.support.scratch import scratch_database
from tests.support.workers import seed_due_reminders, worker_env


@pytest.fixture
def scratch(locations) -> Iterator[tuple[str, Engine]]:
    with scratch_database("sqlite", prefix="ipt_dispatch_once") as url:
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine) as db, db.begin():
            sync_offices(db, locations)
        yield url, engine
        engine.dispose()


def stick_one_in_sending(engine: Engine) -> int:
    """A text a dead worker claimed long ago: reconciliation must ask Twilio about it."""
    with Session(engine) as db, db.begin():
        row = db.scalars(select(OutboundMessage).order_by(OutboundMessage.id).limit(1)).one()
        long_ago = datetime.now(UTC) - timedelta(hours=1)
        db.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == row.id)
            .values(
                status="sending",
                claimed_by="dead-worker",
                claimed_at=long_ago,
                to_number="+12065550999",
                body="a text whose fate is unknown",
            )
        )
        return row.id


def test_failed_list_pages_do_not_stop_the_due_texts(scratch, monkeypatch, tmp_path):
    url, engine = scratch
    seed_due_reminders(engine, 4, "reminder_24h", first_phone=5570000)
    stuck = stick_one_in_sending(engine)
    with FakeTwilioServer() as server:
        server.fail_next("list_500", times=3)
        server.fail_next("list_429")
        env = worker_env(url, server.url, INSTANCE_DIR=str(tmp_path))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(main, ["dispatch", "--once"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["sent"] == 3 and report["reconciled"]["still_unknown"] == 1
        assert len(server.messages()) == 3
    with Session(engine) as db:
        statuses = dict(db.execute(select(OutboundMessage.id, OutboundMessage.status)).all())
    assert statuses.pop(stuck) == "sending"  # nothing resent while Twilio cannot say
    assert set(statuses.values()) == {"sent"}
