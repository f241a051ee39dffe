"""The fault matrix: texts sent by real worker processes through a fake Twilio that faults.

`run_matrix` seeds N due texts, injects a chosen fraction of faults (every fault of
tests.support.fake_twilio_server) into the fake server's calls, runs worker processes against
it, SIGKILLs one in the middle of a batch and, on PostgreSQL, terminates the workers'
connections in the middle of their send transactions (`pg_terminate_backend`). When the
workers have nothing left to do but wait (backoff, a claim timeout), they are stopped and
settle passes run in this process (reconcile, then dispatch; faults still on) until no text is
pending or sending, each pass at the moment every open text is due again (one more round of
retries).

The figures come from the fake server's own record of what it accepted, against the database:
duplicates = texts accepted more than once for one row (number and body), lost = rows marked
sent that the server never accepted plus rows that never reached a final state, stuck = rows
left pending or sending. bench/faults.py runs it at full size; tests/integration/
test_fault_matrix.py runs a small one in the suite.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, false, func, or_, select, text
from sqlalchemy.orm import Session

from scheduler.config import Settings
from scheduler.db.models import OutboundMessage
from scheduler.db.session import make_engine
from scheduler.texts.reconcile import reconcile
from scheduler.texts.send import Dispatcher
from scheduler.wiring import build
from tests.support.fake_twilio_server import FAULTS, FakeTwilioServer
from tests.support.workers import (
    kill_one_holding_claims,
    seed_due_reminders,
    start_workers,
    stop,
    worker_env,
)

_M = OutboundMessage
KIND = "reminder_24h"
CLAIM_TIMEOUT_S = 8
MAX_SETTLE_PASSES = 40


@dataclass
class MatrixResult:
    texts: int
    duplicates: int
    lost: int
    stuck: int
    passes_to_settle: int
    detail: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> dict[str, int]:
        summary = asdict(self)
        summary.pop("detail")
        return summary


def run_matrix(
    database_url: str,
    *,
    texts: int,
    workers: int,
    fault_rate: float,
    seed: int = 10,
    kill_one: bool = True,
    terminate_connections: int = 0,
    first_phone: int = 6000000,
    latency: float = 0.004,
    worker_phase_limit: float = 240.0,
    say: Callable[[str], None] = lambda line: None,
) -> MatrixResult:
    """Run the matrix on a migrated database with the offices synced; see the module doc."""
    env = worker_env(
        database_url,
        "http://127.0.0.1:9",  # replaced below, once the server has its port
        TWILIO_TIMEOUT_SECONDS="1",
        DISPATCH_CLAIM_TIMEOUT_SECONDS=str(CLAIM_TIMEOUT_S),
    )
    url = Settings.from_env(env).database_url
    writer = make_engine(url)
    try:
        seed_due_reminders(writer, texts, KIND, first_phone=first_phone)
    finally:
        writer.dispose()
    # Watching needs no write lock: on SQLite (WAL) a plain reader never waits for the
    # workers, where make_engine's BEGIN IMMEDIATE would queue behind them.
    engine = create_engine(url, hide_parameters=True)
    detail: dict[str, Any] = {}
    try:
        # A few milliseconds per send keeps each worker mid-batch most of the time.
        with FakeTwilioServer(latency=latency) as server:
            server.inject(
                fault_rate,
                FAULTS,
                seed=seed,
                retry_after=1,
                hang=1.5,  # past the workers' 1 s timeout: accepted, answer lost
                outage=0.1,
                weights={"refused": 0.2},
            )
            env["TWILIO_API_BASE_URL"] = server.url
            started = time.monotonic()
            detail.update(
                _worker_phase(
                    engine,
                    server,
                    env,
                    workers,
                    kill_one,
                    terminate_connections,
                    worker_phase_limit,
                    say,
                )
            )
            detail["worker_phase_s"] = round(time.monotonic() - started, 1)
            say(f"workers stopped after {detail['worker_phase_s']} s: {_open_counts(engine)}")
            passes = _settle(env, engine, say)
            detail["injected"] = server.injected()
            detail["outages"] = server.outages
            detail["calls"] = server.requests_seen
            accepted = Counter((m["to"], m["body"]) for m in server.messages())
        result = _figures(engine, accepted, texts, passes)
        result.detail = {**detail, **result.detail}
        return result
    finally:
        engine.dispose()


def _worker_phase(
    engine: Engine,
    server: FakeTwilioServer,
    env: dict[str, str],
    workers: int,
    kill_one: bool,
    terminate_connections: int,
    limit: float,
    say: Callable[[str], None],
) -> dict[str, Any]:
    detail: dict[str, Any] = {"workers": workers, "killed_holding": 0, "terminated": 0}
    procs = start_workers(env, workers)
    try:
        total = _count(engine)
        # Starting Python processes takes a while on a busy machine: the phase's clock starts
        # when they are sending.
        _wait(lambda: len(server.messages()) >= total // 10, time.monotonic() + 300)
        deadline = time.monotonic() + limit
        # While the workers are busy: cut their connections in the middle of a send
        # transaction, then kill one that holds claims.
        for _ in range(terminate_connections):
            detail["terminated"] += _terminate_mid_batch(engine, time.monotonic() + 10)
        if terminate_connections:
            say(f"terminated {detail['terminated']} connections in the middle of a batch")
        if kill_one and workers > 1:
            orphans = kill_one_holding_claims(engine, procs)
            detail["killed_holding"] = len(orphans)
            say(f"SIGKILLed a worker holding {len(orphans)} claimed texts")
        quiet = 0
        while time.monotonic() < deadline and quiet < 3:
            dead = [p.pid for p in procs if p.poll() is not None]
            quiet = quiet + 1 if _nothing_to_do_now(engine, dead) else 0
            time.sleep(0.5)
    finally:
        problems = stop(procs)
    for problem in problems:
        say("a worker did not stop cleanly: " + problem)
    detail["worker_problems"] = len(problems)
    return detail


def _wait(predicate: Callable[[], bool], deadline: float) -> None:
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.1)


def _terminate_mid_batch(engine: Engine, deadline: float) -> int:
    """Terminate the workers' connections that are inside a transaction (between claim and
    record, waiting on sends); returns how many were terminated."""
    if engine.dialect.name != "postgresql":
        return 0
    query = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND state LIKE 'idle in transaction%'"
    )
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            killed = int(conn.execute(query).scalar_one())
        if killed:
            return killed
        time.sleep(0.02)
    return 0


def _count(engine: Engine) -> int:
    with Session(engine) as db:
        return int(db.scalar(select(func.count()).select_from(_M).where(_M.kind == KIND)) or 0)


def _open_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as db:
        found = db.execute(
            select(_M.status, func.count())
            .where(_M.kind == KIND, _M.status.in_(("pending", "sending")))
            .group_by(_M.status)
        ).all()
    return {status: int(n) for status, n in found}


def _nothing_to_do_now(engine: Engine, dead: list[int]) -> bool:
    """No text is due now and none is in a live worker's hands: only waiting is left (a dead
    worker's claims wait for their timeout; the settle passes reconcile them)."""
    now = datetime.now(UTC)
    fresh_claim = now - timedelta(seconds=CLAIM_TIMEOUT_S)
    held_by_dead = [_M.claimed_by.like(f"%:{pid}:%") for pid in dead]
    with Session(engine) as db:
        busy = db.scalar(
            select(func.count())
            .select_from(_M)
            .where(
                _M.kind == KIND,
                or_(
                    (_M.status == "pending")
                    & or_(_M.next_attempt_at.is_(None), _M.next_attempt_at <= now),
                    (_M.status == "sending")
                    & _M.claimed_by.is_not(None)
                    & (_M.claimed_at > fresh_claim)
                    & ~or_(false(), *held_by_dead),
                ),
            )
        )
    return not busy


def _all_due(db: Session, claim_timeout: timedelta) -> datetime | None:
    """When every text still open is due (pending) or may be asked about (sending)."""
    pending = db.scalar(
        select(func.max(func.coalesce(_M.next_attempt_at, _M.send_at))).where(
            _M.status == "pending"
        )
    )
    unclaimed = db.scalar(
        select(func.max(_M.next_attempt_at)).where(_M.status == "sending", _M.claimed_by.is_(None))
    )
    claimed = db.scalar(
        select(func.max(_M.claimed_at)).where(_M.status == "sending", _M.claimed_by.is_not(None))
    )
    moments = [m for m in (pending, unclaimed) if m is not None]
    if claimed is not None:
        moments.append(claimed + claim_timeout)
    return max(moments) if moments else None


def _settle(env: dict[str, str], engine: Engine, say: Callable[[str], None]) -> int:
    """Reconcile-then-dispatch passes until nothing is pending or sending; returns how many."""
    settings = Settings.from_env(env)
    container = build(settings)
    timeout = timedelta(seconds=settings.dispatch_claim_timeout_seconds)
    passes = 0
    try:
        while passes < MAX_SETTLE_PASSES:
            with container.sessions() as db:
                due = _all_due(db, timeout)
            if due is None:
                break
            passes += 1
            # Each pass happens once every open text is due again (a retry's backoff, a
            # reconciliation's wait), as a worker waiting for them would run: the planner's
            # clock is moved there. A pass is one more round of retries.
            at = max(datetime.now(UTC), due + timedelta(seconds=1))
            while True:
                with container.sessions.begin() as db:
                    settled = reconcile(
                        db, container.gateway, claim_timeout=timeout, worker="settle", now=at
                    )
                if not (settled.found_sent or settled.requeued):
                    break
            ctx = replace(container.ctx, clock=lambda at=at: at)
            dispatcher = Dispatcher(container.sessions, ctx, container.gateway, worker_id="settle")
            try:
                stats = dispatcher.run_pass()
            finally:
                dispatcher.close()
            say(f"settle pass {passes}: sent {stats.sent}, open {_open_counts(engine)}")
    finally:
        container.close()
    return passes


def _figures(
    engine: Engine, accepted: Counter[tuple[str, str]], texts: int, passes: int
) -> MatrixResult:
    with Session(engine) as db:
        rows = db.execute(
            select(_M.status, _M.to_number, _M.body, _M.reason).where(_M.kind == KIND)
        ).all()
    duplicates = sum(n - 1 for n in accepted.values() if n > 1)
    sent = [(to, body) for status, to, body, _ in rows if status in ("sent", "delivered")]
    never_accepted = sum(1 for key in sent if key not in accepted)
    stuck = sum(1 for status, *_ in rows if status in ("pending", "sending"))
    recorded = {(to, body) for _, to, body, _ in rows}
    accepted_unrecorded = sum(
        1
        for status, to, body, _ in rows
        if status not in ("sent", "delivered") and (to, body) in accepted
    )
    statuses = Counter(status for status, *_ in rows)
    return MatrixResult(
        texts=len(rows),
        duplicates=duplicates,
        lost=never_accepted + stuck,
        stuck=stuck,
        passes_to_settle=passes,
        detail={
            "seeded": texts,
            "statuses": dict(statuses),
            "accepted": sum(accepted.values()),
            "sent_never_accepted": never_accepted,
            "accepted_but_not_recorded_sent": accepted_unrecorded,
            "accepted_for_no_row": sum(1 for key in accepted if key not in recorded),
            "flagged_duplicate_sid": sum(1 for *_, reason in rows if reason and "SID" in reason),
        },
    )
