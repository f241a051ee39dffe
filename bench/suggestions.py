"""Finding 5 free weekly slots at a busy office: one read of the window against one per candidate.

The office's therapists are booked most of the week (weekly series, Core inserts), and the
request asks for a therapist whose whole week is full, so the finder has to walk far down its
candidate list. `suggestions.suggest` (one query for the busy window) is timed against the
obvious alternative measured in the same run: the same candidates in the same order, each
checked with `availability.find_conflicts` (one query per candidate), stopping at 5.

Prints detail lines, then as the LAST line one JSON object:
  ratio_per_candidate_to_window  median per-candidate time / median suggest() time
  statements_suggest             SQL statements one suggest() sends
  statements_per_candidate       SQL statements the per-candidate walk sends
for SQLite and, when a PostgreSQL server is reachable, PostgreSQL.

Run:  uv run python bench/suggestions.py [--repeats 5] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time as clock
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._db import scratch_database
from scheduler.config import Settings
from scheduler.db.migrate import upgrade
from scheduler.db.models import Series, TherapySession
from scheduler.domain.series import plan_series
from scheduler.services import booking, directory, suggestions
from scheduler.services.availability import find_conflicts
from scheduler.wiring import build

ROOT = Path(__file__).resolve().parents[1]
OFFICE = "seattle"
FIRST = date(2027, 3, 1)  # a Monday
THERAPISTS = 8
WEEKS = 30
HOURS = range(8, 19)  # a full day, 8:00 to 18:00 starts


def fill(container: Any) -> tuple[int, int]:
    """Every therapist booked Monday to Friday, every hour (but therapist 0 keeps Fridays free
    from 3 PM for the finder to find); returns (therapist asked for, a new client to book)."""
    ctx = container.ctx
    with container.sessions.begin() as db:
        directory.sync_offices(db, container.locations)
        ids = [
            directory.create_therapist(
                db, ctx, name=f"T{i}", email=f"t{i}@b.test", location_ids=[OFFICE], actor="b"
            ).id
            for i in range(THERAPISTS)
        ]
        client, newcomer = (
            directory.create_client(
                db,
                ctx,
                directory.NewClient("B", name, phone, OFFICE, sms_consent=False),
                actor="b",
            ).id
            for name, phone in (("Ench", "+12065550100"), ("New", "+12065550101"))
        )
    zone = container.locations[OFFICE].timezone
    with container.engine.begin() as conn:
        for t in ids:
            for weekday in range(5):
                for hour in HOURS:
                    if t == ids[0] and weekday == 4 and hour >= 15:
                        continue
                    first = FIRST + timedelta(days=weekday)
                    series_id = conn.execute(
                        insert(Series).values(
                            client_id=client, therapist_id=t, office_id=OFFICE,
                            first_session_date=first, start_time=time(hour),
                            session_count=WEEKS, duration_minutes=50,
                            problem_area="grief", status="active",
                        )
                    ).inserted_primary_key[0]  # fmt: skip
                    plan = plan_series(
                        first_date=first, start_time=time(hour), zone=zone,
                        session_count=WEEKS, duration=timedelta(minutes=50),
                        closed=lambda _d: None,
                    )  # fmt: skip
                    conn.execute(
                        insert(TherapySession),
                        [
                            {
                                "series_id": series_id, "therapist_id": t, "office_id": OFFICE,
                                "number": p.number, "local_date": p.local_date,
                                "local_time": p.local_time, "timezone": zone,
                                "starts_at": p.starts_at, "ends_at": p.ends_at,
                                "status": "scheduled", "revision": 0, "counts": True,
                                "is_make_up": False,
                            }
                            for p in plan.sessions
                        ],
                    )  # fmt: skip
    return ids[0], newcomer


def per_candidate(db: Any, ctx: Any, req: booking.SeriesRequest) -> list[tuple[int, date, time]]:
    """The alternative: the same candidates in the same order, one conflict query each."""
    location = ctx.locations[req.location_id]
    planner = suggestions._Planner(ctx, req, location)
    found: list[tuple[int, date, time]] = []
    offered: set[tuple[int, int, time]] = set()
    for therapist_id, _name in suggestions._therapists(db, location, req.therapist_id):
        for pattern in suggestions._patterns(ctx, req, location):
            key = (therapist_id, pattern.first_date.weekday(), pattern.start_time)
            slots = planner.slots(pattern)
            if key in offered or slots is None:
                continue
            if not find_conflicts(db, location, therapist_id=therapist_id, room=None, slots=slots):
                offered.add(key)
                first = slots[0].starts_at.astimezone(location.tz).date()
                found.append((therapist_id, first, pattern.start_time))
                if len(found) == suggestions.MAX_SUGGESTIONS:
                    return found
    return found


def timed(engine: Any, run: Any, repeats: int) -> tuple[float, int, Any]:
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    times, result = [], None
    for i in range(repeats):
        if i == 0:
            event.listen(engine, "before_cursor_execute", count)
        start = clock.perf_counter()
        result = run()
        times.append(clock.perf_counter() - start)
        if i == 0:
            event.remove(engine, "before_cursor_execute", count)
    return statistics.median(times), statements, result


def measure(backend: str, repeats: int) -> dict[str, Any]:
    with scratch_database(backend) as url:
        settings = replace(Settings(), database_url=url, locations_file=ROOT / "locations.yaml")
        container = build(settings)
        upgrade(container.engine)
        asked, client = fill(container)
        ctx = replace(container.ctx, clock=lambda: datetime(2027, 2, 20, 18, tzinfo=UTC))
        req = booking.SeriesRequest(
            client_id=client, therapist_id=asked, location_id=OFFICE,
            first_session_date=FIRST + timedelta(weeks=1), start_time=time(10),
            session_count=16, problem_area="grief",
        )  # fmt: skip
        with container.sessions() as db:
            window, window_sql, found = timed(
                container.engine, lambda: suggestions.suggest(db, ctx, req), repeats
            )
            walk, walk_sql, walked = timed(
                container.engine, lambda: per_candidate(db, ctx, req), repeats
            )
        container.close()
    same = [(s.therapist_id, s.first_session_date, s.start_time) for s in found] == walked
    print(
        f"{backend}: suggest {window * 1000:.1f} ms ({window_sql} statements), per candidate "
        f"{walk * 1000:.1f} ms ({walk_sql} statements); same answer: {same}"
    )
    return {
        "ratio_per_candidate_to_window": round(walk / window, 2),
        "statements_suggest": window_sql,
        "statements_per_candidate": walk_sql,
        "same_answer": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for backend in args.backends.split(","):
        try:
            results[backend] = measure(backend, args.repeats)
        except Exception as exc:  # a PostgreSQL server may be absent on a laptop
            print(f"{backend}: skipped ({type(exc).__name__}: {exc})")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
