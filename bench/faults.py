"""The fault matrix at full size: nothing duplicated, lost or stuck when Twilio and the
database fail under four workers.

5,000 due texts are sent by 4 `ipt-scheduler worker` processes on PostgreSQL through the fake
Twilio server (tests/support/fake_twilio_server.py), which faults on 10% of calls: 429 with
Retry-After, 500 after accepting, 503, a read timeout after accepting, a reset before reading,
an outage refusing connections, a repeated SID, 21610/21614/21211, and failed pages of the
Messages list. Meanwhile one worker is SIGKILLed holding claimed texts and the workers'
connections are terminated in the middle of their send transactions (pg_terminate_backend).
Then settle passes (reconcile, dispatch; faults still on) run until nothing is pending or
sending. See tests/support/fault_matrix.py for the figures' definitions.

Prints detail lines, then as the LAST line one JSON object:
    {"texts": N, "duplicates": 0, "lost": 0, "stuck": 0, "passes_to_settle": k}

Run:  uv run python bench/faults.py [--texts 5000] [--workers 4] [--rate 0.10]
PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (default the local server); the run
creates its own database and drops it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._db import scratch_database
from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine
from scheduler.locations import load_locations
from scheduler.services.directory import sync_offices
from tests.support.fault_matrix import run_matrix

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0.10, help="fraction of calls that fault")
    parser.add_argument("--terminate", type=int, default=3, help="rounds of pg_terminate_backend")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per accepted send")
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    with scratch_database("postgresql") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            with Session(engine) as db, db.begin():
                sync_offices(db, load_locations(ROOT / "locations.yaml"))
        finally:
            engine.dispose()
        result = run_matrix(
            url,
            texts=args.texts,
            workers=args.workers,
            fault_rate=args.rate,
            seed=args.seed,
            kill_one=True,
            terminate_connections=args.terminate,
            latency=args.latency,
            worker_phase_limit=300,
            say=lambda line: print(line, flush=True),
        )
    for key, value in result.detail.items():
        print(f"{key}: {value}")
    print(json.dumps(result.figures()))


if __name__ == "__main__":
    main()
