"""Booking a 16-session series into an office that already holds 100,000 sessions.

Prints detail lines, then as the LAST line one JSON object:
  ratio_to_raw_insert     median booking time / median raw insert of the same rows (same run):
                          the rows a booking wrote (series, sessions, audit, planned texts),
                          written again with SQLAlchemy Core insert() per table in one
                          transaction: no ORM, no checks, no planning
  ratio_to_dbapi_insert   replaying the booking's own INSERT SQL and parameters on a bare DBAPI
                          cursor (stricter than Core; shown for honesty)
  statements_per_booking  SQL statements one booking sends (must not grow with N)
for SQLite and, when a PostgreSQL server is reachable, PostgreSQL.

Run:  uv run python bench/booking.py [--existing 100000] [--repeats 25]
                                     [--backends sqlite,postgresql]
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

from sqlalchemy import event, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._db import scratch_database
from scheduler.config import Settings
from scheduler.db.migrate import upgrade
from scheduler.db.models import Base, Series, TherapySession
from scheduler.services import booking, directory
from scheduler.wiring import build

ROOT = Path(__file__).resolve().parents[1]
OFFICE = "seattle"
FIRST = date(2027, 1, 6)


def fill(container: Any, existing: int) -> None:
    """`existing` sessions at the office, weekly series of 16 spread over 40 therapists/rooms."""
    ctx = container.ctx
    with container.sessions.begin() as db:
        directory.sync_offices(db, container.locations)
        therapists = [
            directory.create_therapist(
                db,
                ctx,
                name=f"T{i}",
                email=f"t{i}@bench.test",
                location_ids=[OFFICE],
                actor="bench",
            ).id
            for i in range(40)
        ]
        client = directory.create_client(
            db,
            ctx,
            directory.NewClient(
                first_name="B",
                last_name="Ench",
                phone="+12065550100",
                home_location_id=OFFICE,
                sms_consent=False,
            ),
            actor="bench",
        ).id
    per_series = 16
    series_rows = existing // per_series
    batch: list[dict[str, Any]] = []
    with container.engine.begin() as conn:
        for i in range(series_rows):
            therapist = therapists[i % len(therapists)]
            slot = i // len(therapists)
            first = FIRST + timedelta(days=slot % 5 + 7 * (slot // 60))
            hour = 8 + (slot // 5) % 12
            sid = conn.execute(
                insert(Series).values(
                    client_id=client,
                    therapist_id=therapist,
                    office_id=OFFICE,
                    first_session_date=first,
                    start_time=time(hour),
                    session_count=per_series,
                    duration_minutes=50,
                    problem_area="grief",
                    created_at=datetime.now(UTC),
                )
            ).inserted_primary_key[0]
            for k in range(per_series):
                day = first + timedelta(weeks=k)
                start = datetime.combine(day, time(hour), container.locations[OFFICE].tz)
                batch.append(_row(sid, therapist, k + 1, day, start))
            if len(batch) >= 8000:
                conn.execute(insert(TherapySession), batch)
                batch.clear()
        if batch:
            conn.execute(insert(TherapySession), batch)


def _row(series_id: int, therapist: int, number: int, day: date, start: datetime) -> dict:
    return {
        "series_id": series_id,
        "therapist_id": therapist,
        "office_id": OFFICE,
        "number": number,
        "counts": True,
        "is_make_up": False,
        "local_date": day,
        "local_time": start.time(),
        "timezone": start.tzinfo.key,
        "starts_at": start.astimezone(UTC),
        "ends_at": (start + timedelta(minutes=50)).astimezone(UTC),
        "room": None,
        "status": "scheduled",
        "revision": 0,
        "updated_at": datetime.now(UTC),
    }


def measure(url: str, existing: int, repeats: int) -> dict[str, Any]:
    settings = replace(Settings(), database_url=url, locations_file=ROOT / "locations.yaml")
    container = build(settings)
    upgrade(container.engine)
    started = clock.perf_counter()
    fill(container, existing)
    print(f"  filled {existing} sessions in {clock.perf_counter() - started:.1f}s", flush=True)
    ctx = replace(container.ctx, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    with container.sessions.begin() as db:
        # A client of their own for each booking: one client cannot be in two sessions at once
        # (the booking would be refused as a conflict with the client's earlier series).
        clients = [
            directory.create_client(
                db,
                ctx,
                directory.NewClient(
                    first_name="New",
                    last_name=f"Client {i}",
                    phone=f"+1206555{2000 + i:04d}",
                    home_location_id=OFFICE,
                    sms_consent=True,
                    goal_prompt_consent=True,
                ),
                actor="bench",
            ).id
            for i in range(repeats + 1)
        ]
        therapists = [
            directory.create_therapist(
                db,
                ctx,
                name=f"N{i}",
                email=f"n{i}@bench.test",
                location_ids=[OFFICE],
                actor="bench",
            ).id
            for i in range(repeats + 1)
        ]

    statements: list[int] = []
    book_times: list[float] = []
    inserts: list[list[tuple[str, Any, bool]]] = []
    booked: list[int] = []
    for i, (therapist, client) in enumerate(zip(therapists, clients, strict=True)):
        req = booking.SeriesRequest(
            client_id=client,
            therapist_id=therapist,
            location_id=OFFICE,
            first_session_date=date(2027, 3, 3) + timedelta(days=i % 3),
            start_time=time(13),
            session_count=16,
            problem_area="role_dispute",
        )
        seen: list[str] = []
        writes: list[tuple[str, Any, bool]] = []

        def count(
            _c: Any,
            _cur: Any,
            stmt: str,
            params: Any,
            _ctx: Any,
            many: bool,
            _seen: list[str] = seen,
            _writes: list[tuple[str, Any, bool]] = writes,
        ) -> None:
            _seen.append(stmt)
            if stmt.lstrip().upper().startswith("INSERT"):
                _writes.append((stmt, params, many))

        event.listen(container.engine, "before_cursor_execute", count)
        t0 = clock.perf_counter()
        with container.sessions.begin() as db:
            series_id = booking.book_series(db, ctx, req, actor="bench").series.id
        elapsed = clock.perf_counter() - t0
        event.remove(container.engine, "before_cursor_execute", count)
        if i == 0:
            continue  # warm-up: first use of caches and prepared statements
        book_times.append(elapsed)
        inserts.append(writes)
        booked.append(series_id)
        statements.append(
            len(
                [
                    s
                    for s in seen
                    if not s.lstrip()
                    .upper()
                    .startswith(("BEGIN", "COMMIT", "ROLLBACK", "RELEASE", "SAVEPOINT"))
                ]
            )
        )

    core_times: list[float] = []
    dbapi_times: list[float] = []
    for writes, series_id in zip(inserts, booked, strict=True):
        rows = _rows_written(container.engine, series_id)
        t0 = clock.perf_counter()
        with container.engine.begin() as conn:
            for table, values in rows:
                conn.execute(insert(table), values)
        core_times.append(clock.perf_counter() - t0)
        dbapi_times.append(_dbapi_replay(container.engine, writes))
    container.close()
    book = statistics.median(book_times)
    core = statistics.median(core_times)
    dbapi = statistics.median(dbapi_times)
    return {
        "booking_ms": round(book * 1000, 3),
        "raw_insert_ms": round(core * 1000, 3),
        "ratio_to_raw_insert": round(book / core, 2),
        "dbapi_insert_ms": round(dbapi * 1000, 3),
        "ratio_to_dbapi_insert": round(book / dbapi, 2),
        "statements_per_booking": max(statements),
        "statements_constant": len(set(statements)) == 1,
        "insert_statements_per_booking": len(inserts[0]),
    }


def _rows_written(engine: Any, series_id: int) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Every row the booking of `series_id` wrote, read back as Python values, ids left out."""
    out = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name == "series":
                where = table.c.id == series_id
            elif "series_id" in table.c:
                where = table.c.series_id == series_id
            else:
                continue
            rows = [dict(r._mapping) for r in conn.execute(select(table).where(where))]
            for row in rows:
                row.pop("id", None)
            if rows:
                out.append((table, rows))
    return out


def _dbapi_replay(engine: Any, writes: list[tuple[str, Any, bool]]) -> float:
    raw = engine.raw_connection()
    try:
        t0 = clock.perf_counter()
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")  # what the engine does for every transaction
        for stmt, params, many in writes:
            if many:
                cursor.executemany(stmt, params)
            else:
                cursor.execute(stmt, params)
            if cursor.description is not None:
                cursor.fetchall()
        raw.commit()
        return clock.perf_counter() - t0
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results: dict[str, Any] = {"existing_sessions": args.existing, "session_count": 16}
    for backend in args.backends.split(","):
        print(f"{backend}:", flush=True)
        try:
            with scratch_database(backend) as url:
                results[backend] = measure(url, args.existing, args.repeats)
        except Exception as exc:  # a missing PostgreSQL server should not hide SQLite figures
            results[backend] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"  {results[backend]}", flush=True)
    sqlite = results.get("sqlite", {})
    results["ratio_to_raw_insert"] = sqlite.get("ratio_to_raw_insert")
    results["statements_per_booking"] = sqlite.get("statements_per_booking")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
