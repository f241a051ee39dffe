"""EXPLAIN ANALYZE of every statement the hot paths send, on a large PostgreSQL practice.

Drives the real code (an office's day and week, a therapist's feed, the dispatcher's claim,
the conflict check of a booking and of a move, client search, the inbox) against DATABASE_URL
with an admin token, records each statement with its parameters, and prints each distinct
statement's plan; `--summary` prints one line per statement: time, and any sequential scan
of a big table (the thing an index should have prevented). Writes are rolled back.

Run:  uv run python bench/explain.py URL TOKEN [--summary]
(reads.py --keep URL seeds a practice and prints/keeps its admin token; grow it in SQL for a
20x practice: see bench/READS.md, "EXPLAIN on a 60x practice".)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, select

from scheduler.db.models import Client, Series, Therapist, TherapySession
from scheduler.services import booking, feeds
from scheduler.texts import due
from scheduler.web.frontdesk import reads

LOCKING = r"\s+FOR (UPDATE|SHARE)( OF [\w, ]+?)?( SKIP LOCKED| NOWAIT)?$"
BIG = (
    "sessions",
    "outbound_messages",
    "clients",
    "series",
    "audit_log",
    "inbound_messages",
    "inbox_items",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    os.environ.update(
        DATABASE_URL=args.url,
        SECRET_KEY="bench-secret-key-0123456789abcdef",
        LOCATIONS_FILE=str(root / "locations.yaml"),
        INSTANCE_DIR=tempfile.mkdtemp(),
    )
    from scheduler.web import create_app

    app = create_app()
    container = app.extensions["ipt"]
    engine = container.engine
    seen: list[tuple[str, str, Any]] = []
    label = ["?"]

    def record(_c: Any, _cur: Any, statement: str, params: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") or " FOR UPDATE" in statement:
            seen.append((label[0], statement, params))

    event.listen(engine, "before_cursor_execute", record)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {args.token}"}
    with container.sessions() as db:
        s = db.scalars(select(TherapySession).order_by(TherapySession.id).limit(1)).one()
        office, day = s.office_id, s.local_date
        therapist = s.therapist_id
        client_id = db.get(Series, s.series_id).client_id
    monday = day - timedelta(days=day.weekday())

    label[0] = "office week (API)"
    client.get(
        f"/api/v1/sessions?location_id={office}&from={monday}&to={monday + timedelta(days=6)}",
        headers=headers,
    )
    label[0] = "single session (API)"
    client.get(f"/api/v1/sessions/{s.id}", headers=headers)
    label[0] = "inbox (API)"
    client.get("/api/v1/inbox", headers=headers)
    ctx = container.ctx
    loc = container.locations.get(office)
    with container.sessions() as db:
        label[0] = "office day (page query)"
        reads.office_days(db, loc, day, 1, measures=True)  # as the day sheet reads it
        label[0] = "client search"
        reads.search_clients(db, "client1", where=Client.id.is_not(None))
        reads.search_clients(db, "555", where=Client.id.is_not(None))
        label[0] = "therapist feed"
        token = feeds.rotate_token(db, ctx, "therapist", therapist, actor="bench")
        db.commit()
    client.get(f"/feeds/therapists/{token}.ics")
    client.get(f"/feeds/therapists/{token}.ics")  # the stored one
    with container.sessions() as db:
        label[0] = "claim due texts"
        now = datetime.now(UTC)
        ids, quotas = due.candidates(db, ctx, now, 50, 5.0)  # as a claim of 50 asks
        due.lock(db, ids, now, quotas, 50)
        # What a claim asks when the head of the queue cannot tell (a backlog in few offices).
        label[0] = "claim due texts, office by office"
        db.connection().execute(due._postgres_query(), {"b_now": now, "b_wanted": 200})
        db.rollback()
        label[0] = "conflicts at booking"
        other = db.scalars(select(Therapist.id).where(Therapist.id != therapist).limit(1)).one()
        with contextlib.suppress(booking.Conflict):  # a conflict is an answer too
            booking.book_series(
                db,
                ctx,
                booking.SeriesRequest(
                    client_id=client_id,
                    therapist_id=other,
                    location_id=office,
                    first_session_date=day,
                    start_time=time(s.local_time.hour),
                    session_count=12,
                    problem_area="grief",
                ),
                actor="bench",
            )
        db.rollback()
    label[0] = "conflicts at a move (API preview)"
    client.post(
        f"/api/v1/sessions/{s.id}/preview",
        json={"starts_at_local": f"{day + timedelta(days=1)}T12:00"},
        headers=headers,
    )
    event.remove(engine, "before_cursor_execute", record)
    explain(engine, seen, args.summary)


def explain(engine: Any, seen: list[tuple[str, str, Any]], summary: bool) -> None:
    done: set[str] = set()
    with engine.connect() as conn:
        for where, statement, params in seen:
            if statement in done:
                continue
            done.add(statement)
            plain = re.sub(LOCKING, "", statement)
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + plain, params).all()
            lines = [r[0] for r in plan]
            took = next((ln for ln in lines if ln.startswith("Execution Time")), "")
            seq = sorted(
                {
                    m.group(1)
                    for ln in lines
                    if (m := re.search(r"Seq Scan on (\w+)", ln)) and m.group(1) in BIG
                }
            )
            head = " ".join(statement.split())[:110]
            if summary:
                flag = f"  SEQ SCAN {','.join(seq)}" if seq else ""
                print(f"[{where}] {took}{flag}\n    {head}")
            else:
                print(f"\n=== [{where}] {head}")
                print("\n".join(lines))
        conn.rollback()


if __name__ == "__main__":
    main()
