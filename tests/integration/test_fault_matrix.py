"""A small run of the fault matrix (bench/faults.py runs the full one): worker processes send
through a fake Twilio that faults on 10% of calls, one worker is SIGKILLed mid-batch and, on
PostgreSQL, connections are terminated mid-batch; after settling, nothing is duplicated, lost
or stuck, by the fake server's own record of what it accepted.

Runs on the suite's database: SQLite (two workers, one killed) or PostgreSQL when
TEST_DATABASE_URL is set (four workers, one killed, connections terminated).
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy.orm import Session

from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine
from scheduler.services.directory import sync_offices
from tests.support.fault_matrix import run_matrix
from tests.support.scratch import scratch_database

# Worker and web processes read the machine's clock: so does the test that seeds them.
pytestmark = [pytest.mark.slow, pytest.mark.real_clock]


def test_faults_kills_and_lost_connections_lose_and_duplicate_nothing(locations):
    server = os.environ.get("TEST_DATABASE_URL") or "sqlite"
    postgres = server != "sqlite"
    with scratch_database(server, prefix="ipt_faults") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            with Session(engine) as db, db.begin():
                sync_offices(db, locations)
        finally:
            engine.dispose()
        result = run_matrix(
            url,
            texts=300 if postgres else 150,
            workers=4 if postgres else 2,
            fault_rate=0.10,
            kill_one=True,
            terminate_connections=2 if postgres else 0,
            latency=0.1,  # slow enough to find a worker mid-batch
            worker_phase_limit=30,
            say=print,
        )
    print(result.figures(), result.detail)
    assert result.figures()["texts"] == (300 if postgres else 150)
    assert (result.duplicates, result.lost, result.stuck) == (0, 0, 0), result.detail
    assert result.detail["accepted_but_not_recorded_sent"] == 0, result.detail
    assert result.detail["killed_holding"] > 0, "the worker died holding nothing: untested"
    if postgres:
        assert result.detail["terminated"] > 0, "no connection was cut mid-batch: untested"
    injected = result.detail["injected"]
    # Every kind of fault happened at least once, or the run proved less than it claims.
    assert sum(injected.values()) > 0
    assert result.passes_to_settle >= 1
