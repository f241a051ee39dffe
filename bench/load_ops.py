"""The operations bench/load.py times on each practice size, as medians in milliseconds.

- booking: a 16-session series for a new client with a therapist who has no sessions yet, at
  the first office (book_series, rolled back after each run so every run books the same);
- day_page: the first office's day page over HTTP from the running gunicorn, signed in as an
  admin (the grid, the day sheet and its texts);
- claim: the dispatcher's claim of up to 20 due texts (claim_batch, rolled back), at 17:00 UTC
  of the next weekday, when every office is open and reminders are due; texts due more than
  15 minutes before then are first marked delivered (a worker that kept up);
- feed_refresh: rebuilding the stored feed of the first office's first therapist (forced,
  rolled back).

Each is run a few times after one warm-up run; the median is what counts. With two
practices the runs alternate between them (`time_interleaved`).
"""

from __future__ import annotations

import http.cookiejar
import re
import statistics
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

from sqlalchemy import select, update

from bench.practice_seed import Seeded
from scheduler.db.models import OutboundMessage, StoredFeed
from scheduler.services import booking, directory, feeds
from scheduler.texts import claim
from scheduler.wiring import Container

REPEATS = 9
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def _next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


NAMES = ("booking", "day_page", "claim", "feed_refresh")


def operations(
    container: Container,
    seeded: Seeded,
    base: str | None,
    email: str,
    password: str,
    only: tuple[str, ...] = NAMES,
) -> dict[str, Callable[[], object]]:
    """The operations named in `only` (all four by default) on one practice, ready to run
    again and again. Only the day page needs the served practice (`base`)."""
    build: dict[str, Callable[[], Callable[[], object]]] = {
        "booking": lambda: _booking(container, seeded),
        "day_page": lambda: _day_page(container, seeded, base, email, password),
        "claim": lambda: _claim(container),
        "feed_refresh": lambda: _refresh(container, seeded),
    }
    return {name: build[name]() for name in NAMES if name in only}


def _booking(container: Container, seeded: Seeded) -> Callable[[], object]:
    office = seeded.offices[0]
    ctx = container.ctx
    now = ctx.clock()
    with container.sessions.begin() as db:
        client = directory.create_client(
            db,
            ctx,
            directory.NewClient(
                first_name="Load",
                last_name="Bench",
                phone="+12065550199",
                home_location_id=office,
                sms_consent=True,
            ),
            actor="bench",
        ).id
        therapist = directory.create_therapist(
            db, ctx, name="Dr. Free", email="free@bench.invalid", location_ids=[office], actor="b"
        ).id
    request = booking.SeriesRequest(
        client_id=client,
        therapist_id=therapist,
        location_id=office,
        first_session_date=_next_weekday(now.date() + timedelta(days=7)),
        start_time=clock_time(13),
        session_count=16,
        problem_area="role_transition",
    )

    def book() -> None:
        with container.sessions() as db:
            booking.book_series(db, ctx, request, actor="bench")
            db.flush()
            db.rollback()

    return book


def _claim(container: Container) -> Callable[[], object]:
    ctx = container.ctx
    due_at = datetime.combine(_next_weekday(ctx.clock().date()), clock_time(17), UTC)
    claim_ctx = replace(ctx, clock=lambda: due_at)
    with container.sessions.begin() as db:
        # A worker that kept up: what fell due before the last quarter hour has gone out.
        kept_up = OutboundMessage.send_at < due_at - timedelta(minutes=15)
        db.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "pending", kept_up)
            .values(status="delivered")
        )

    def claim_something() -> None:
        with container.sessions() as db:
            result = claim.claim_batch(
                db, claim_ctx, worker="bench", limit=20, horizon=3.0, known_senders=set()
            )
            db.rollback()
        if not result.claimed:
            raise RuntimeError(f"the claim at {due_at:%Y-%m-%d %H:%M} UTC found nothing due")

    return claim_something


def _refresh(container: Container, seeded: Seeded) -> Callable[[], object]:
    ctx = container.ctx
    now = ctx.clock()
    therapist_feed = str(seeded.therapist_ids_by_office[seeded.offices[0]][0])

    def refresh() -> None:
        with container.sessions() as db:
            stored = db.scalars(
                select(StoredFeed).where(
                    StoredFeed.owner_kind == "therapist", StoredFeed.owner_id == therapist_feed
                )
            ).one()
            feeds.refresh(db, ctx, stored, now=now, force=True)
            db.rollback()

    return refresh


def _day_page(
    container: Container, seeded: Seeded, base: str | None, email: str, password: str
) -> Callable[[], object]:
    if base is None:
        raise ValueError("the day page needs the practice served (no base URL given)")
    opener = _signed_in(base, email, password)
    day = _next_weekday(container.ctx.clock().date() - timedelta(days=1))  # today if a weekday
    page = f"{base}/offices/{seeded.offices[0]}/day?date={day.isoformat()}"

    def day_page() -> None:
        with opener.open(page, timeout=30) as r:
            if r.status != 200:
                raise RuntimeError(f"day page answered {r.status}")
            r.read()

    return day_page


def time_interleaved(
    practices: list[dict[str, Callable[[], object]]], repeats: int = REPEATS
) -> list[dict[str, float]]:
    """Median ms of each operation on each practice, the practices taking turns.

    Taking turns run by run means a busy moment of a shared machine slows both sides alike,
    so the ratio between them holds when the absolute figures do not.
    """
    times: list[dict[str, list[float]]] = [{name: [] for name in p} for p in practices]
    for name in practices[0]:
        for ops in practices:
            ops[name]()  # warm-up: caches, prepared statements, the first connection
        for _ in range(repeats):
            for ops, out in zip(practices, times, strict=True):
                started = time.perf_counter()
                ops[name]()
                out[name].append(time.perf_counter() - started)
    return [{name: statistics.median(v) * 1000 for name, v in t.items()} for t in times]


def _signed_in(base: str, email: str, password: str) -> urllib.request.OpenerDirector:
    """A cookie-keeping client signed in through the sign-in form (CSRF token included)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base}/signin", timeout=30) as r:
        found = _CSRF.search(r.read().decode())
    if not found:
        raise RuntimeError("the sign-in page carries no CSRF token")
    form = urllib.parse.urlencode(
        {"csrf_token": found.group(1), "email": email, "password": password}
    ).encode()
    with opener.open(f"{base}/signin", data=form, timeout=30) as r:
        if "/signin" in r.geturl():
            raise RuntimeError("signing in to the bench's gunicorn failed")
    return opener
