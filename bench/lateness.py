"""Lateness of reminders on a busy day, with and without spreading, against the rate's floor.

A busy day for all nine offices: 60 visits each on one Wednesday, six starting together on
every hour from 08:00 to 17:00 office time, every client consenting and living in the office's
zone. Each series is planned as a booking plans it (`plan.sync_series_texts`), then the real
Dispatcher sends everything due from two days before the day to two days after, against a
gateway that takes 1 text per second per office number (the sender clocks of sms_senders, as in
production). The clock is simulated: the dispatcher's waits advance it, so hours of sending run
in seconds.

For each run it prints p50/p95/max lateness of reminders (reminder_24h, reminder_2h) against
the time they were planned for (as stored), and the floor: the lateness a perfect sender at
1 text per second per number would reach on the UNSPREAD plan (first come, first served,
which minimises the largest lateness). `ratio_to_floor` is measured max over the floor's max:
about 1 without spreading (the dispatcher does as well as the rate allows), about 0 with it
(no pile is left to drain). Also: how far spreading moved texts from their natural time, and
how many texts quiet hours held back or stopped.

Prints detail lines, then as the LAST line one JSON object.

Run:  uv run python bench/lateness.py [--visits 60] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter as clock_time
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, selectinload

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._db import scratch_database
from scheduler.config import Settings
from scheduler.db.migrate import upgrade
from scheduler.db.models import Client, OutboundMessage, Series, Therapist, TherapySession
from scheduler.domain.spreading import MAX_SHIFT
from scheduler.services.directory import sync_offices
from scheduler.sms.gateway import OutboundSms, SendResult
from scheduler.texts import claim as claim_module
from scheduler.texts import plan as plan_module
from scheduler.texts import send as send_module
from scheduler.texts.send import Dispatcher
from scheduler.wiring import build

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2027, 3, 10)  # a Wednesday with no holiday in any office's state
REMINDERS = ("reminder_24h", "reminder_2h")
RATE = 1.0  # texts per second per office number
MAX_SHIFT_S = MAX_SHIFT.total_seconds()


class SimClock:
    """The one clock of the run: the planner's, the dispatcher's and the sender slots'."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance_to(self, at: datetime) -> None:
        self.now = max(self.now, at)


class SimStop:
    """The dispatcher's stop event: waiting advances the simulated clock instead of sleeping."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock

    def is_set(self) -> bool:
        return False

    def set(self) -> None:  # pragma: no cover - nothing stops a bench run
        pass

    def wait(self, seconds: float | None = None) -> bool:
        if seconds and seconds > 0:
            self.clock.now += timedelta(seconds=seconds)
        return False


class SimGateway:
    """Accepts every text and notes the simulated instant it was handed over."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.sent: dict[str, tuple[str | None, datetime]] = {}
        self._sids = itertools.count(1)

    def send(self, message: OutboundSms) -> SendResult:
        sid = f"SM{next(self._sids):032x}"
        self.sent[sid] = (message.from_number, self.clock.now)
        return SendResult(sid=sid, status="queued")

    def __getattr__(self, name: str) -> Any:  # list/fetch are not used by a dispatch pass
        raise AttributeError(name)


def seed(db: Session, container: Any, visits: int) -> list[int]:
    """Per office one therapist and `visits` consenting clients with a visit on DAY."""
    stamp = datetime(2027, 3, 1, tzinfo=UTC)
    series_ids: list[int] = []
    hours = [8 + (k // 6) % 10 for k in range(visits)]  # six together, 08:00 to 17:00
    for n, office in enumerate(container.locations.locations):
        therapist = Therapist(name=f"Dr. Bench {n}", email=f"bench-{office.id}@test.invalid")
        db.add(therapist)
        db.flush()
        client_ids = db.scalars(
            insert(Client).returning(Client.id),
            [
                {
                    "first_name": f"Client{k}",
                    "last_name": "Bench",
                    "phone": f"+1{200 + n}555{k:04d}",
                    "timezone": office.timezone,
                    "home_office_id": office.id,
                    "sms_consent": True,
                    "goal_prompt_consent": True,
                    "goal_detail_consent": False,
                    "created_at": stamp,
                }
                for k in range(visits)
            ],
        ).all()
        ids = db.scalars(
            insert(Series).returning(Series.id),
            [
                {
                    "client_id": cid,
                    "therapist_id": therapist.id,
                    "office_id": office.id,
                    "first_session_date": DAY,
                    "start_time": time(hours[k]),
                    "session_count": 12,
                    "duration_minutes": 50,
                    "problem_area": "role_transition",
                    "status": "active",
                    "created_at": stamp,
                }
                for k, cid in enumerate(client_ids)
            ],
        ).all()
        rows = []
        for k, sid in enumerate(ids):
            starts = datetime.combine(DAY, time(hours[k]), office.tz).astimezone(UTC)
            rows.append(
                {
                    "series_id": sid,
                    "therapist_id": therapist.id,
                    "office_id": office.id,
                    "number": 1,
                    "counts": True,
                    "is_make_up": False,
                    "local_date": DAY,
                    "local_time": time(hours[k]),
                    "timezone": office.timezone,
                    "starts_at": starts,
                    "ends_at": starts + timedelta(minutes=50),
                    "status": "scheduled",
                    "revision": 0,
                    "updated_at": stamp,
                }
            )
        db.execute(insert(TherapySession), rows)
        series_ids.extend(ids)
    return series_ids


def natural_times(db: Session) -> dict[tuple[int, str], datetime]:
    return {
        (r.session_id, r.kind): r.send_at
        for r in db.execute(
            select(OutboundMessage.session_id, OutboundMessage.kind, OutboundMessage.send_at)
        )
        if r.send_at is not None
    }


def run(backend: str, visits: int, spreading: bool) -> dict[str, Any]:
    with scratch_database(backend) as url:
        settings = replace(
            Settings(),
            database_url=url,
            locations_file=ROOT / "locations.yaml",
            public_base_url="https://bench.example.test",
            sms_max_per_second=RATE,
            dispatch_concurrency=1,
        )
        container = build(settings)
        upgrade(container.engine)
        start = datetime.combine(DAY - timedelta(days=3), time(0), UTC)
        clock = SimClock(start)
        ctx = replace(container.ctx, clock=clock)
        originals = (claim_module.utcnow, send_module.utcnow, plan_module.spread_plans)
        claim_module.utcnow = send_module.utcnow = clock  # type: ignore[assignment]
        if not spreading:
            plan_module.spread_plans = lambda db, sid, office, plans, **kw: plans  # type: ignore[assignment]
        try:
            with container.sessions.begin() as db:
                sync_offices(db, container.locations)
                ids = seed(db, container, visits)
            with container.sessions.begin() as db:
                for series in db.scalars(
                    select(Series).where(Series.id.in_(ids)).options(selectinload(Series.sessions))
                ):
                    plan_module.sync_series_texts(db, ctx, series, start, change=None, fresh=True)
            return dispatch_and_measure(container, ctx, clock, spreading)
        finally:
            claim_module.utcnow, send_module.utcnow, plan_module.spread_plans = originals
            container.close()


def dispatch_and_measure(container: Any, ctx: Any, clock: SimClock, spreading: bool) -> dict:
    end = datetime.combine(DAY + timedelta(days=3), time(0), UTC)
    gateway = SimGateway(clock)
    dispatcher = Dispatcher(
        container.sessions, ctx, gateway, worker_id="bench", concurrency=1, stop=SimStop(clock)
    )
    _M = OutboundMessage
    passes = 0
    try:
        while clock.now < end:
            dispatcher.run_pass()
            passes += 1
            with container.sessions.begin() as db:
                due = db.scalar(
                    select(func.min(func.coalesce(_M.next_attempt_at, _M.send_at))).where(
                        _M.status == "pending"
                    )
                )
            if due is None or due >= end:
                break
            clock.advance_to(due)
    finally:
        dispatcher.close()
    with container.sessions.begin() as db:
        rows = db.execute(
            select(_M.session_id, _M.kind, _M.office_id, _M.send_at, _M.provider_sid, _M.status)
        ).all()
    texts = []
    for r in rows:
        sent = gateway.sent.get(r.provider_sid)[1] if r.provider_sid else None
        texts.append((r.session_id, r.kind, r.office_id, r.send_at, sent, r.status))
    return {"spreading": spreading, "texts": texts, "passes": passes}


def summary(name: str, values: list[float]) -> dict[str, float]:
    if not values:
        return {f"{name}_p50_s": 0.0, f"{name}_p95_s": 0.0, f"{name}_max_s": 0.0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        f"{name}_p50_s": round(statistics.median(ordered), 2),
        f"{name}_p95_s": round(p95, 2),
        f"{name}_max_s": round(ordered[-1], 2),
    }


def floor(natural: list[tuple[str, str, datetime]]) -> list[float]:
    """Reminders' lateness if each number sent its unspread plan first come, first served
    (which minimises the largest lateness of a one-at-a-time sender)."""
    late: list[float] = []
    by_office: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for office, kind, at in natural:
        by_office[office].append((at, kind))
    step = timedelta(seconds=1 / RATE)
    for texts in by_office.values():
        free = datetime.min.replace(tzinfo=UTC)
        # At one instant reminders go first: the floor is the best any order could do for them.
        for at, kind in sorted(texts, key=lambda t: (t[0], t[1] not in REMINDERS)):
            sent = max(at, free)
            free = sent + step
            if kind in REMINDERS:
                late.append((sent - at).total_seconds())
    return late


def figures(run: dict[str, Any], natural: dict[tuple[int, str], datetime], floor_max: float):
    late, moved, every = [], [], []
    held = 0
    for session_id, kind, _office, planned, sent, status in run["texts"]:
        if sent is not None:
            every.append((sent - planned).total_seconds())
        if kind not in REMINDERS:
            continue
        if sent is None:
            held += status != "cancelled"  # quiet hours held it past its expiry, say
            continue
        late.append((sent - planned).total_seconds())
        moved.append((planned - natural[(session_id, kind)]).total_seconds())
    stats = summary("late", late)
    return {
        "reminders_sent": len(late),
        "reminders_not_sent": held,
        **stats,
        "ratio_to_floor": round(stats["late_max_s"] / floor_max, 3) if floor_max else None,
        "moved_earliest_s": round(min(moved), 1) if moved else 0.0,
        "moved_latest_s": round(max(moved), 1) if moved else 0.0,
        "texts_sent": len(every),
        "any_text_late_max_s": round(max(every), 1) if every else 0.0,
        "passes": run["passes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--visits", type=int, default=60, help="visits per office on the day")
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    started = clock_time()
    before = run(args.backend, args.visits, spreading=False)
    after = run(args.backend, args.visits, spreading=True)
    natural = {(t[0], t[1]): t[3] for t in before["texts"] if t[3] is not None}
    floor_late = floor([(t[2], t[1], t[3]) for t in before["texts"] if t[4] is not None])
    floor_stats = summary("floor", floor_late)
    result: dict[str, Any] = {"offices": 9, "visits_per_office": args.visits, **floor_stats}
    for name, outcome in (("unspread", before), ("spread", after)):
        got = figures(outcome, natural, floor_stats["floor_max_s"])
        print(f"{name:>9}: " + ", ".join(f"{k}={v}" for k, v in got.items()))
        result.update({f"{name}_{k}": v for k, v in got.items()})
    print(
        f"floor (1 text/s per number, unspread plan): p50={floor_stats['floor_p50_s']}s "
        f"p95={floor_stats['floor_p95_s']}s max={floor_stats['floor_max_s']}s"
    )
    print(f"wall time {clock_time() - started:.1f}s ({args.backend})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
