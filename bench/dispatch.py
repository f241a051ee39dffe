"""Dispatch throughput, measured against baselines in the same run.

(a) claim + render + verify + record with a zero-latency gateway, as a ratio to a raw
    claim-and-update loop over the same number of rows (SELECT ... FOR UPDATE SKIP LOCKED
    LIMIT n, UPDATE to "sending", UPDATE to "sent" with a SID: no checks, no rendering, no
    send), with messages per second for both, on SQLite and PostgreSQL (the server named by
    BENCH_DATABASE_URL or TEST_DATABASE_URL, default the local one). Goal: ratio >= 0.3 on
    SQLite, >= 0.5 on PostgreSQL.
(b) a gateway that takes 150 ms per send and a 10-per-second sender cap: the achieved send
    rate (between the first and the last send's start) as a fraction of the cap. Goal:
    >= 0.95, and never above 1.

Prints detail lines, then as the LAST line one JSON object.

Each loop runs once to warm up, then `--rounds` times taking turns with the other; the ratio is
of the two median rounds.

Run:  uv run python bench/dispatch.py [--messages 2000] [--rounds 5] [--paced 60]
      [--backends sqlite]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time as clock
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._db import scratch_database
from scheduler.config import Settings
from scheduler.db.migrate import upgrade
from scheduler.db.models import Client, OutboundMessage, Series, Therapist, TherapySession
from scheduler.services.directory import sync_offices
from scheduler.sms.fake import FakeGateway
from scheduler.texts.send import Dispatcher
from scheduler.wiring import build
from tests.support.scratch import daytime_zone

ROOT = Path(__file__).resolve().parents[1]
OFFICE = "dallas"


def seed(engine: Engine, n: int) -> None:
    """n clients, each with a visit tomorrow and its 24-hour reminder due now."""
    now = datetime.now(UTC)
    starts = now + timedelta(days=1)
    zone = daytime_zone()
    tag = uuid.uuid4().hex[:6]
    with Session(engine) as db, db.begin():
        therapist = Therapist(name="Dr. Bench", email=f"bench-{tag}@test.invalid")
        db.add(therapist)
        db.flush()
        client_ids = db.scalars(
            insert(Client).returning(Client.id),
            [
                {
                    "first_name": f"Client{i}",
                    "last_name": "Bench",
                    "phone": f"+1214{5550000 + i:07d}",
                    "timezone": zone,
                    "home_office_id": OFFICE,
                    "sms_consent": True,
                    "goal_prompt_consent": True,
                    "goal_detail_consent": False,
                    "created_at": now,
                }
                for i in range(n)
            ],
        ).all()
        series_ids = db.scalars(
            insert(Series).returning(Series.id),
            [
                {
                    "client_id": cid,
                    "therapist_id": therapist.id,
                    "office_id": OFFICE,
                    "first_session_date": date.today(),
                    "start_time": starts.time(),
                    "session_count": 12,
                    "duration_minutes": 50,
                    "problem_area": "role_transition",
                    "status": "active",
                    "created_at": now,
                }
                for cid in client_ids
            ],
        ).all()
        session_ids = db.scalars(
            insert(TherapySession).returning(TherapySession.id),
            [
                {
                    "series_id": sid,
                    "therapist_id": therapist.id,
                    "office_id": OFFICE,
                    "number": 1,
                    "counts": True,
                    "is_make_up": False,
                    "local_date": starts.date(),
                    "local_time": starts.time(),
                    "timezone": "America/Chicago",
                    "starts_at": starts,
                    "ends_at": starts + timedelta(minutes=50),
                    "status": "scheduled",
                    "revision": 0,
                    "updated_at": now,
                }
                for sid in series_ids
            ],
        ).all()
        db.execute(
            insert(OutboundMessage),
            [
                {
                    "client_id": cid,
                    "session_id": sess,
                    "series_id": sid,
                    "office_id": OFFICE,
                    "kind": "reminder_24h",
                    "send_at": now - timedelta(minutes=1),
                    "expires_at": starts,
                    "status": "pending",
                    "attempts": 0,
                    "session_revision": 0,
                    "session_starts_at": starts,
                    "created_at": now,
                    "updated_at": now,
                }
                for cid, sid, sess in zip(client_ids, series_ids, session_ids, strict=True)
            ],
        )


def analyze(engine: Engine) -> None:
    """On PostgreSQL, statistics for the seeded rows, as autovacuum gathers them on a live
    server after a bulk insert (the README asks for ANALYZE after a bulk load): without them
    the planner guessed a handful of due texts and read all 2,000 to claim 50. SQLite
    gathers none unless asked, and an embedded practice never asks: left as it runs."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def reset(engine: Engine) -> None:
    """Every reminder due again, as it was before the run."""
    with Session(engine) as db, db.begin():
        db.execute(
            update(OutboundMessage).values(
                status="pending",
                provider_sid=None,
                claimed_by=None,
                claimed_at=None,
                attempts=0,
                body=None,
                sent_at=None,
            )
        )


def raw_loop(engine: Engine, batch: int) -> int:
    """The baseline: claim a batch, mark it sending, mark it sent with a SID. Nothing else."""
    t = OutboundMessage.__table__
    sids = itertools.count()
    done = 0
    while True:
        with Session(engine) as db, db.begin():
            ids = db.scalars(
                select(t.c.id)
                .where(t.c.status == "pending", t.c.send_at <= datetime.now(UTC))
                .order_by(t.c.send_at, t.c.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not ids:
                return done
            db.execute(
                update(t)
                .where(t.c.id.in_(ids))
                .values(status="sending", claimed_by="raw", claimed_at=datetime.now(UTC))
            )
        with Session(engine) as db, db.begin():
            db.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(status="sent", provider_sid=bindparam("b_sid"), sent_at=datetime.now(UTC)),
                [{"b_id": i, "b_sid": f"SM{next(sids):032x}"} for i in ids],
            )
        done += len(ids)


def container_for(url: str, **overrides: Any):
    settings = replace(
        Settings(),
        database_url=url,
        locations_file=ROOT / "locations.yaml",
        public_base_url="https://bench.example.test",
        **overrides,
    )
    return build(settings)


def measure_zero_latency(url: str, n: int, batch: int, rounds: int) -> dict[str, Any]:
    container = container_for(url, sms_max_per_second=1_000_000.0, dispatch_batch_size=batch)
    engine = container.engine
    upgrade(engine)
    with Session(engine) as db, db.begin():
        sync_offices(db, container.locations)
    seed(engine, n)
    analyze(engine)
    raw_times: list[float] = []
    ours_times: list[float] = []
    # A warm-up round, then `rounds` more, the two loops taking turns; each side's median
    # round counts: on a shared machine one round's neighbour moved the ratio by a fifth.
    for round_ in range(rounds + 1):
        reset(engine)
        started = clock.perf_counter()
        done = raw_loop(engine, batch)
        raw_s = clock.perf_counter() - started
        assert done == n, done
        reset(engine)
        gateway = FakeGateway()
        dispatcher = Dispatcher(container.sessions, container.ctx, gateway, worker_id="bench")
        started = clock.perf_counter()
        stats = dispatcher.run_pass()
        ours_s = clock.perf_counter() - started
        dispatcher.close()
        assert stats.sent == n and len(gateway.sent) == n, stats
        if round_:
            raw_times.append(raw_s)
            ours_times.append(ours_s)
    raw_median, ours_median = statistics.median(raw_times), statistics.median(ours_times)
    result = {
        "messages": n,
        "rounds": rounds,
        "raw_per_s": round(n / raw_median),
        "dispatch_per_s": round(n / ours_median),
        "ratio": round(raw_median / ours_median, 3),
    }
    container.close()
    return result


def measure_paced(url: str, n: int) -> dict[str, Any]:
    cap = 10.0
    container = container_for(url, sms_max_per_second=cap, dispatch_batch_size=50)
    engine = container.engine
    upgrade(engine)
    with Session(engine) as db, db.begin():
        sync_offices(db, container.locations)
    seed(engine, n)
    reset(engine)
    starts: list[float] = []

    class Timed(FakeGateway):
        def send(self, message):  # type: ignore[no-untyped-def]
            starts.append(clock.perf_counter())
            return super().send(message)

    gateway = Timed(latency=0.150)
    dispatcher = Dispatcher(container.sessions, container.ctx, gateway, worker_id="paced")
    begun = clock.perf_counter()
    stats = dispatcher.run_pass()
    wall = clock.perf_counter() - begun
    dispatcher.close()
    container.close()
    assert stats.sent == n, stats
    starts.sort()
    achieved = (len(starts) - 1) / (starts[-1] - starts[0])
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    return {
        "messages": n,
        "cap_per_s": cap,
        "achieved_per_s": round(achieved, 3),
        "fraction_of_cap": round(achieved / cap, 3),
        "min_gap_ms": round(min(gaps) * 1000, 1),
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each loop")
    parser.add_argument("--paced", type=int, default=60, help="texts for the 10/s run")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    for backend in args.backends.split(","):
        try:
            with scratch_database(backend) as url:
                zero = measure_zero_latency(url, args.messages, args.batch, args.rounds)
            print(f"{backend}: zero latency {zero}", flush=True)
            with scratch_database(backend) as url:
                paced = measure_paced(url, args.paced)
        except Exception as exc:  # no PostgreSQL server should not hide the SQLite figures
            out[backend] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"{backend}: {out[backend]['error']}", flush=True)
            continue
        print(f"{backend}: 150 ms, 10/s cap {paced}", flush=True)
        out[backend] = {"zero_latency": zero, "paced_150ms_10_per_s": paced}
    first = out[args.backends.split(",")[0]]
    out["ratio_to_raw_claim_update"] = first["zero_latency"]["ratio"]
    out["paced_fraction_of_cap"] = first["paced_150ms_10_per_s"]["fraction_of_cap"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
