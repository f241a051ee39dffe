"""Read throughput under the Procfile's gunicorn, on a seeded practice in PostgreSQL.

Creates a scratch PostgreSQL database (dropped at the end, also on failure), migrates it, seeds a
realistic practice with COPY (bench/practice_seed.py: 9 offices, 60 therapists, 1,500 clients,
24,000 sessions and their texts), starts the `web:` line of the Procfile (gunicorn, 2 workers)
on a free port, and drives each endpoint with `wrk` (2 threads, 8 connections; the bench
installs Debian's wrk if it is missing and it can) or a Python client otherwise, in
`--rounds` rounds (3) of `--duration` seconds, the endpoints (/healthz among them) taking
turns. Prints requests/s, p50 and p95 of each endpoint's median round, with its ratio to
/healthz's median from the same run, and each round's rate.

With --scale K (K > 1) it runs the 9-office practice first and then one K times larger (9 x K
offices from a generated locations file), and times booking a series, an office's day page,
the dispatcher's claim and a feed refresh on both (bench/load_ops.py), printing each as a ratio
of the K-times figure to the 9-office one.

Last line, one JSON object: {"ratios": {"<endpoint>": r, ...}, "min_single_row_ratio": r}
(single-row reads: one session, one client; with --scale K the ratios are the K-times
practice's), plus with --scale K: "scale", "scale_ratios"
{"booking", "day_page", "claim", "feed_refresh"} and "max_scale_ratio".

With --only NAME[,NAME...] (and --scale K) it times just those operations and skips the
endpoint load (and gunicorn, unless day_page is named): a cheaper rerun, e.g. `--scale 20
--only claim`. Its last line has the same keys; "ratios" is then empty and
"min_single_row_ratio" null.

Run:  uv run python bench/load.py [--duration 3] [--rounds 3] [--scale 1] [--client auto|wrk|python]
      [--only claim] [--repeats 9]
PostgreSQL server: BENCH_DATABASE_URL or TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import load_http, load_ops
from bench._db import scratch_database
from bench.practice_seed import Seeded, seed
from scheduler.config import Settings
from scheduler.db.migrate import upgrade
from scheduler.services import accounts, directory, feeds
from scheduler.wiring import Container, build
from tests.support.procfile import free_port, serve_web

ROOT = Path(__file__).resolve().parents[1]
SINGLE_ROW = ("session", "client")
ADMIN = "bench-admin@bench.invalid"
PASSWORD = "bench-password-1"


def scaled_locations(scale: int, folder: Path) -> Path:
    """locations.yaml with each office repeated `scale` times (new ids, names and numbers)."""
    source = ROOT / "locations.yaml"
    if scale == 1:
        return source
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    offices = []
    for copy in range(scale):
        for office in doc["locations"]:
            clone = dict(office)
            if copy:
                area = office["sms_number"][2:5]
                clone["id"] = f"{office['id']}-{copy}"
                clone["name"] = f"{office['name']} {copy}"
                clone["sms_number"] = f"+1{area}5552{copy:03d}"
                clone["phone"] = f"+1{area}5553{copy:03d}"
            offices.append(clone)
    doc["locations"] = offices
    path = folder / f"locations-x{scale}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def prepare(container: Container, scale: int, now: datetime) -> tuple[Seeded, str, str]:
    """Seed the practice; returns it, an admin's API token and a therapist's feed token."""
    upgrade(container.engine)
    with container.sessions.begin() as db:
        directory.sync_offices(db, container.locations)
    started = time.perf_counter()
    seeded = seed(container.engine, container.locations, scale, now=now)
    print(
        f"  seeded {len(seeded.offices)} offices, {seeded.therapists} therapists, "
        f"{seeded.clients} clients, {seeded.sessions} sessions, {seeded.texts} texts "
        f"in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    ctx = container.ctx
    therapist = seeded.therapist_ids_by_office[seeded.offices[0]][0]
    with container.sessions.begin() as db:
        accounts.create_user(db, email=ADMIN, role="admin", password=PASSWORD, actor="bench")
        token = accounts.create_token(db, ADMIN, label="bench", actor="bench")
        feed_token = feeds.rotate_token(db, ctx, "therapist", therapist, actor="bench")
        stored = feeds._stored(db, "therapist", str(therapist))
        assert stored is not None
        feeds.refresh(db, ctx, stored, now=now, force=True)
        size = len(stored.body or b"")
    print(f"  therapist {therapist}'s stored feed: {stored.event_count} events, {size} bytes")
    return seeded, token, feed_token


def endpoints(seeded: Seeded, feed_token: str, now: datetime) -> dict[str, str]:
    office = seeded.offices[0]
    monday = (now - timedelta(days=now.weekday())).date()
    week = f"from={monday.isoformat()}&to={(monday + timedelta(days=6)).isoformat()}"
    return {
        "healthz": "/healthz",
        "locations": "/api/v1/locations",
        "session": f"/api/v1/sessions/{seeded.sample_session_id}",
        "client": f"/api/v1/clients/{seeded.sample_client_id}",
        "office_week": f"/api/v1/sessions?location_id={office}&{week}",
        "therapist_feed": f"/feeds/therapists/{feed_token}.ics",
    }


def drive(
    base: str, paths: dict[str, str], token: str, args: argparse.Namespace, wrk: str | None
) -> dict[str, load_http.Result]:
    """Each endpoint warmed up, then loaded `args.rounds` times, the endpoints taking turns
    (/healthz among them); each one's median round counts. On a shared machine one burst
    from a neighbour during a single /healthz run moved every ratio of the run with it."""
    headers = {"Authorization": f"Bearer {token}"}

    def load(url: str, seconds: float) -> load_http.Result:
        if wrk:
            return load_http.run_wrk(wrk, url, headers, seconds, args.connections, args.threads)
        return load_http.run_python(url, headers, seconds, args.connections)

    for path in paths.values():
        load(base + path, 1)  # warm-up: prepared statements, caches, connections
    rounds: dict[str, list[load_http.Result]] = {name: [] for name in paths}
    for _ in range(args.rounds):
        for name, path in paths.items():
            res = load(base + path, args.duration)
            if res.errors:
                raise RuntimeError(f"{name}: {res.errors} of {res.requests} answers were errors")
            rounds[name].append(res)
    results = {name: _median_round(runs) for name, runs in rounds.items()}
    base_rps = results["healthz"].rps
    for name, res in results.items():
        spread = ", ".join(f"{r.rps:.0f}" for r in rounds[name])
        print(
            f"  {name:15} {res.rps:8.0f} req/s  p50 {res.p50_ms:6.1f} ms  "
            f"p95 {res.p95_ms:6.1f} ms  ratio {res.rps / base_rps:.2f}  (rounds: {spread})",
            flush=True,
        )
    return results


def _median_round(runs: list[load_http.Result]) -> load_http.Result:
    """The round with the median rate (of an even number, the lower middle one), with its
    own latencies."""
    return sorted(runs, key=lambda r: r.rps)[(len(runs) - 1) // 2]


@dataclass
class Practice:
    scale: int
    ratios: dict[str, float]
    ops: dict[str, Callable[[], object]]


@contextmanager
def practice(
    scale: int, args: argparse.Namespace, wrk: str | None, folder: Path, *, ops: bool
) -> Iterator[Practice]:
    """Seed a practice, serve it, load each endpoint; it stays served (for the operations)
    until the block ends, and its database is dropped then. With --only, the endpoints are
    not loaded and the practice is served only if the day page is wanted."""
    print(f"practice x{scale}:", flush=True)
    now = datetime.now(UTC)
    locations = scaled_locations(scale, folder)
    with scratch_database("postgresql") as url:
        settings = replace(
            Settings(),
            database_url=url,
            locations_file=locations,
            secret_key=secrets.token_urlsafe(24),
            sms_backend="console",
        )
        container = build(settings)
        try:
            seeded, token, feed_token = prepare(container, scale, now)
            env = {
                "DATABASE_URL": url,
                "LOCATIONS_FILE": str(locations),
                "SECRET_KEY": settings.secret_key,
                "SMS_BACKEND": "console",
                "INSTANCE_DIR": str(folder / f"instance-x{scale}"),
            }
            if args.only and "day_page" not in args.only:
                ops_only = load_ops.operations(container, seeded, None, ADMIN, PASSWORD, args.only)
                yield Practice(scale, {}, ops_only)
                return
            only = args.only or load_ops.NAMES
            with serve_web(env, free_port(), folder / f"gunicorn-x{scale}.log") as base:
                ratios = {}
                if not args.only:
                    results = drive(base, endpoints(seeded, feed_token, now), token, args, wrk)
                    base_rps = results["healthz"].rps
                    ratios = {name: round(r.rps / base_rps, 3) for name, r in results.items()}
                yield Practice(
                    scale,
                    ratios,
                    load_ops.operations(container, seeded, base, ADMIN, PASSWORD, only)
                    if ops
                    else {},
                )
        finally:
            container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per round")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="loads of each endpoint, taking turns with the others (the median counts)",
    )
    parser.add_argument("--scale", type=int, default=1, help="practice size (20: 180 offices)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--only",
        type=lambda v: tuple(n.strip() for n in v.split(",") if n.strip()),
        default=(),
        help=f"time just these operations, no endpoint load (of {', '.join(load_ops.NAMES)})",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=load_ops.REPEATS,
        help="timed runs of each operation on each practice (the median counts)",
    )
    args = parser.parse_args()
    if args.scale < 1 or args.duration <= 0 or args.repeats < 1 or args.rounds < 1:
        parser.error("--scale, --rounds and --repeats must be at least 1 and --duration positive")
    unknown = [n for n in args.only if n not in load_ops.NAMES]
    if unknown:
        known = ", ".join(load_ops.NAMES)
        parser.error(f"--only: no operation {', '.join(unknown)}; known: {known}")
    if args.only and args.scale == 1:
        parser.error("--only times operations against the 9-office figure: give --scale K > 1")
    # --only loads no endpoints: no client to find or install.
    wrk = None if args.client == "python" or args.only else load_http.find_wrk(install=True)
    if args.client == "wrk" and wrk is None:
        parser.error("wrk is not installed and could not be installed")
    if args.only:
        print(f"only: {', '.join(args.only)} (no endpoint load)", flush=True)
    else:
        client = "wrk" if wrk else "python"
        print(f"client: {client}; {args.rounds} rounds of {args.duration:g}s each", flush=True)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ipt_load_") as tmp:
        folder = Path(tmp)
        if args.scale == 1:
            with practice(1, args, wrk, folder, ops=False) as only:
                ratios = only.ratios
        else:
            with (
                practice(1, args, wrk, folder, ops=True) as small,
                practice(args.scale, args, wrk, folder, ops=True) as large,
            ):
                ratios = large.ratios
                print("operations, the two practices taking turns (median ms):", flush=True)
                x1, xk = load_ops.time_interleaved([small.ops, large.ops], args.repeats)
            scale_ratios = {k: round(xk[k] / x1[k], 2) for k in x1}
            for k, r in scale_ratios.items():
                print(f"  {k:15} x1 {x1[k]:7.1f} ms  x{args.scale} {xk[k]:7.1f} ms  {r:.2f}x")
            out = {
                "scale": args.scale,
                "scale_ratios": scale_ratios,
                "max_scale_ratio": max(scale_ratios.values()),
            }
    result = {
        "ratios": ratios,
        "min_single_row_ratio": min(ratios[k] for k in SINGLE_ROW) if ratios else None,
        **out,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
