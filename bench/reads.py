"""API reads against /healthz, under the Procfile's gunicorn on PostgreSQL, or profiled.

Seeds a scratch PostgreSQL database with the practice issue 13 measured (27 therapists, 3 per
office, 540 weekly series of 12), issues an admin token, then either

  * (default) starts gunicorn as the Procfile does (2 workers) and drives each endpoint with
    `wrk -t2 -c8` for `--seconds`, /healthz first and last; prints requests/s and the ratio of
    each endpoint to /healthz from this same run; last line JSON; with `--split`, also where
    each request's time went (the web workers' CPU, PostgreSQL's, wrk's, cores left unused);
  * `--profile`: runs `--profile-requests` requests per endpoint through the Flask test client
    under cProfile and prints the top functions by cumulative time (where a read's time goes).

Run:  uv run python bench/reads.py [--seconds 10] [--split] [--profile]
Needs `wrk` on PATH for the default mode (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time as clock
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select, text

from bench._db import scratch_database
from scheduler.config import Settings
from scheduler.db.migrate import upgrade
from scheduler.db.models import Series, TherapySession
from scheduler.services import accounts, booking, directory
from scheduler.wiring import build
from tests.support import procfile

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-key-0123456789abcdef"


def next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def seed(url: str, therapists_per_office: int = 3, series_each: int = 20) -> dict[str, Any]:
    """The practice; returns the ids and dates the endpoints are asked about."""
    settings = replace(
        Settings(), database_url=url, locations_file=ROOT / "locations.yaml", secret_key=SECRET
    )
    container = build(settings)
    upgrade(container.engine)
    ctx = container.ctx
    first_week = next_monday(datetime.now(UTC).date())
    with container.sessions.begin() as db:
        directory.sync_offices(db, container.locations)
        accounts.create_user(db, email="admin@bench.test", role="admin", password="bench-pass-1")
        token = accounts.create_token(db, "admin@bench.test", label="bench")
    for office_no, loc in enumerate(container.locations.locations):
        for t in range(therapists_per_office):
            with container.sessions.begin() as db:
                therapist = directory.create_therapist(
                    db,
                    ctx,
                    name=f"Therapist {office_no}-{t}",
                    email=f"t{office_no}-{t}@bench.test",
                    location_ids=[loc.id],
                    actor="bench",
                ).id
                for k in range(series_each):
                    client = directory.create_client(
                        db,
                        ctx,
                        directory.NewClient(
                            first_name=f"C{office_no}",
                            last_name=f"Client{t}x{k}",
                            phone=f"+1206555{(office_no * 100 + t * 20 + k) % 10000:04d}",
                            home_location_id=loc.id,
                            sms_consent=True,
                        ),
                        actor="bench",
                    ).id
                    _book(
                        db,
                        ctx,
                        booking.SeriesRequest(
                            client_id=client,
                            therapist_id=therapist,
                            location_id=loc.id,
                            first_session_date=first_week + timedelta(days=k % 5),
                            start_time=time(8 + 4 * t + k // 5),  # 08:00-19:50, no two alike
                            session_count=12,
                            problem_area="role_dispute",
                            room=loc.rooms[t % len(loc.rooms)],
                        ),
                        actor="bench",
                    )
    with container.sessions() as db:
        sample = db.scalars(
            select(TherapySession).order_by(TherapySession.id).offset(1000).limit(1)
        ).one()
        client_id = db.get(Series, sample.series_id).client_id
        office = sample.office_id
    # The planner's statistics, as autovacuum keeps them on a server in use (it may be off on
    # a development server): without them it guesses, and reads one client through the
    # index of merged records, all 540 of them, instead of the primary key.
    with container.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    container.close()
    week_from = first_week + timedelta(weeks=2)
    return {
        "token": token,
        "session_id": sample.id,
        "client_id": client_id,
        "office": office,
        "from": week_from.isoformat(),
        "to": (week_from + timedelta(days=6)).isoformat(),
    }


def _book(db: Any, ctx: Any, req: booking.SeriesRequest, *, actor: str) -> None:
    try:
        booking.book_series(db, ctx, req, actor=actor)
    except booking.Conflict as exc:
        raise SystemExit(f"seed conflict: {exc.conflicts}") from exc


def endpoints(ids: dict[str, Any]) -> dict[str, str]:
    return {
        "locations": "/api/v1/locations",
        "session": f"/api/v1/sessions/{ids['session_id']}",
        "client": f"/api/v1/clients/{ids['client_id']}",
        "week": f"/api/v1/sessions?location_id={ids['office']}&from={ids['from']}&to={ids['to']}",
    }


def env_for(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "LOCATIONS_FILE": str(ROOT / "locations.yaml"),
        "SMS_BACKEND": "console",
    }


def wrk(base: str, path: str, token: str | None, seconds: int) -> float:
    cmd = ["wrk", "-t2", "-c8", f"-d{seconds}s", base + path]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"{path}: non-2xx answers\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert found, out
    return float(found.group(1))


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of the gunicorn processes and of PostgreSQL's (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    mine = os.times()  # its children: wrk, once it has exited
    found = {"web": 0.0, "postgres": 0.0, "wrk": mine.children_user + mine.children_system}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        if b"gunicorn" in command:
            found["web"] += used
        elif command.startswith(b"postgres"):
            found["postgres"] += used
    return found


def _split(name: str, rate: float, seconds: int, before: dict[str, float]) -> None:
    """`--split`: where each request's time went, in ms of CPU: the web workers', PostgreSQL's,
    wrk's, and what the machine's cores left unused (waiting: for a commit's log flush, say;
    or taken by anything else running)."""
    after, requests = _cpu_seconds(), rate * seconds
    web, pg, load = ((after[k] - before[k]) / requests * 1000 for k in ("web", "postgres", "wrk"))
    idle = (os.cpu_count() or 1) * 1000 / rate - web - pg - load
    print(
        f"  {name:10s} per request: web {web:.2f} ms, postgres {pg:.2f} ms, wrk {load:.2f} ms,"
        f" cores unused {idle:.2f} ms"
    )


def run_wrk(url: str, ids: dict[str, Any], seconds: int, split: bool = False) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not on PATH (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as instance:
        env = {**env_for(url), "INSTANCE_DIR": instance}
        # The Procfile's web line (2 workers, multiprocess metrics), as in production.
        with procfile.serve_web(env, procfile.free_port(), Path(instance) / "gunicorn.log") as base:
            wrk(base, "/healthz", None, 3)  # warm both workers' pools
            rates: dict[str, float] = {}
            # /healthz between every endpoint: the ratio is to the median of those, so a
            # neighbour's burst on a shared machine moves one figure, not the baseline.
            before = _cpu_seconds()
            health = [wrk(base, "/healthz", None, seconds)]
            if split:
                _split("healthz", health[0], seconds, before)
            for name, path in endpoints(ids).items():
                wrk(base, path, ids["token"], 1)
                before = _cpu_seconds()
                rates[name] = wrk(base, path, ids["token"], seconds)
                if split:
                    _split(name, rates[name], seconds, before)
                print(f"  {name:10s} {rates[name]:8.0f} req/s  {path}", flush=True)
                health.append(wrk(base, "/healthz", None, seconds))
    healthz = statistics.median(health)
    print(f"  {'healthz':10s} {healthz:8.0f} req/s  (median of {[round(h) for h in health]})")
    ratios = {name: round(rate / healthz, 3) for name, rate in rates.items()}
    return {
        "healthz_rps": round(healthz),
        "rps": {k: round(v) for k, v in rates.items()},
        "ratios": ratios,
        "min_single_row_ratio": min(ratios["session"], ratios["client"], ratios["locations"]),
    }


def run_profile(url: str, ids: dict[str, Any], requests: int) -> None:
    os.environ.update(env_for(url))
    from scheduler.web import create_app

    with tempfile.TemporaryDirectory() as instance:
        os.environ["INSTANCE_DIR"] = instance
        app = create_app()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {ids['token']}"}
        for name, path in [("healthz", "/healthz"), *endpoints(ids).items()]:
            for _ in range(20):
                assert client.get(path, headers=headers).status_code == 200
            # BENCH_CPU=1: CPU time of this process only (waits on PostgreSQL do not count).
            timer = clock.process_time if os.environ.get("BENCH_CPU") else clock.perf_counter
            profiler = cProfile.Profile(timer)
            started = clock.perf_counter()
            profiler.enable()
            for _ in range(requests):
                client.get(path, headers=headers)
            profiler.disable()
            per = (clock.perf_counter() - started) / requests * 1000
            print(f"\n=== {name}: {per:.2f} ms/request under cProfile ({path})")
            stats = pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative"))
            stats.print_stats(int(os.environ.get("BENCH_TOP", "25")))


def run_timing(url: str, ids: dict[str, Any], requests: int) -> None:
    """Milliseconds per request in one process through the test client (no server, no wrk)."""
    os.environ.update(env_for(url))
    from scheduler.web import create_app

    with tempfile.TemporaryDirectory() as instance:
        os.environ["INSTANCE_DIR"] = instance
        client = create_app().test_client()
        headers = {"Authorization": f"Bearer {ids['token']}"}
        paths = [("healthz", "/healthz"), *endpoints(ids).items()]
        for _name, path in paths:  # time answers, not errors (a database behind on migrations)
            status = client.get(path, headers=headers).status_code
            if status != 200:
                raise SystemExit(f"{path}: {status} (is the kept database migrated?)")
        best: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for _ in range(3):
            for name, path in paths:
                started, cpu_started = clock.perf_counter(), clock.process_time()
                for _ in range(requests):
                    client.get(path, headers=headers)
                per = (clock.perf_counter() - started) / requests * 1000
                cpu_per = (clock.process_time() - cpu_started) / requests * 1000
                best[name] = min(best.get(name, per), per)
                cpu[name] = min(cpu.get(name, cpu_per), cpu_per)
        # CPU time of this process alone is steadier than wall time on a busy machine.
        for name, per in best.items():
            print(
                f"  {name:10s} {per:6.2f} ms wall (ratio {best['healthz'] / per:.2f})"
                f"  {cpu[name]:6.2f} ms CPU (ratio {cpu['healthz'] / cpu[name]:.2f})"
            )


def run_statements(url: str, ids: dict[str, Any]) -> None:
    """Print the SQL each endpoint sends, in order (the second request: caches are warm)."""
    os.environ.update(env_for(url))
    from sqlalchemy import event

    from scheduler.web import create_app

    with tempfile.TemporaryDirectory() as instance:
        os.environ["INSTANCE_DIR"] = instance
        app = create_app()
        engine = app.extensions["ipt"].engine
        seen: list[str] = []
        event.listen(
            engine, "before_cursor_execute", lambda *a: seen.append(" ".join(a[2].split())[:160])
        )
        client = app.test_client()
        headers = {"Authorization": f"Bearer {ids['token']}"}
        for name, path in [("healthz", "/healthz"), *endpoints(ids).items()]:
            client.get(path, headers=headers)
            seen.clear()
            client.get(path, headers=headers)
            print(f"\n=== {name}: {len(seen)} statements")
            for sql in seen:
                print("   ", sql)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--timing", action="store_true", help="ms per request, test client")
    parser.add_argument("--statements", action="store_true", help="print each endpoint's SQL")
    parser.add_argument("--profile-requests", type=int, default=300)
    parser.add_argument(
        "--split",
        action="store_true",
        help="also print each endpoint's web CPU, PostgreSQL CPU and idle ms per request",
    )
    parser.add_argument(
        "--keep",
        metavar="URL",
        help="seed this database once and reuse it on later runs (ids kept in a file beside)",
    )
    args = parser.parse_args()
    if args.keep:
        ids_file = Path(tempfile.gettempdir()) / ("ipt_bench_" + re.sub(r"\W", "_", args.keep))
        if ids_file.exists():
            ids = json.loads(ids_file.read_text())
        else:
            ids = seed(args.keep)
            ids_file.write_text(json.dumps(ids))
        measure(args, args.keep, ids)
        return
    with scratch_database("postgresql") as url:
        started = clock.perf_counter()
        ids = seed(url)
        print(f"  seeded in {clock.perf_counter() - started:.0f}s: {json.dumps(ids)}")
        measure(args, url, ids)


def measure(args: argparse.Namespace, url: str, ids: dict[str, Any]) -> None:
    if args.timing:
        run_timing(url, ids, args.profile_requests)
    elif args.statements:
        run_statements(url, ids)
    elif args.profile:
        run_profile(url, ids, args.profile_requests)
    else:
        print(json.dumps(run_wrk(url, ids, args.seconds, args.split)))


if __name__ == "__main__":
    main()
