"""Benchmark of scheduler.ical.build_calendar on a 2,000-event feed.

Run: ``uv run python bench/feeds.py``. Detail lines first; the last line is one JSON object.
Every figure is the best of several repeats (time.perf_counter) measured in this same run, so
the ratios between them mean more than the absolute numbers on a given machine.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Allow running as a plain script from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from icalendar import Calendar, Event, Timezone, vDuration

from scheduler.ical import FeedEvent, FeedMeta, build_calendar, clear_caches

ROOT = Path(__file__).resolve().parent.parent

DOMAIN = "ipt.example.org"
OFFICES = (
    ("America/Los_Angeles", "1200 Pine St, Suite 4; Seattle, WA 98101"),
    ("America/Phoenix", "45 E Congress St, Tucson, AZ 85701"),
)
DTSTAMP = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
META = FeedMeta(name="IPT sessions · Seattle & Tucson", refresh=timedelta(hours=1))


def make_events(clients: int = 125, sessions: int = 16) -> list[FeedEvent]:
    """Weekly series in wall-clock time, spread over 2027 so many cross a DST change."""
    events: list[FeedEvent] = []
    modified = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    for client in range(clients):
        tzid, address = OFFICES[client % len(OFFICES)]
        zone = ZoneInfo(tzid)
        first_day = date(2027, 1, 4) + timedelta(days=2 * client)  # reaches into 2028
        wall = clock(9 + client % 9, 30 if client % 2 else 0)
        initials = f"{chr(65 + client % 26)}.{chr(65 + (client * 7) % 26)}."
        for k in range(sessions):
            local = datetime.combine(first_day + timedelta(weeks=k), wall, tzinfo=zone)
            start = local.astimezone(UTC)
            number = client * sessions + k
            events.append(
                FeedEvent(
                    uid=f"session-{number}@{DOMAIN}",
                    sequence=number % 3,
                    summary=f"{initials} · IPT {k + 1}/{sessions}",
                    starts_at=start,
                    ends_at=start + timedelta(minutes=50),
                    tzid=tzid,
                    location=address,
                    status="CANCELLED" if number % 29 == 0 else "CONFIRMED",
                    last_modified=modified + timedelta(minutes=number),
                    description="Room 3, ring the bell; call 555-0100 if late."
                    if k % 4 == 0
                    else None,
                )
            )
    return events


def best_of(
    run: Callable[[], object], repeats: int, setup: Callable[[], None] | None = None
) -> float:
    """Smallest wall time of ``repeats`` calls, in seconds; ``setup`` runs untimed before each."""
    best = float("inf")
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def icalendar_direct(meta: FeedMeta, events: Sequence[FeedEvent], zones: list[Timezone]) -> bytes:
    """The baseline: the same feed through icalendar's object model, nothing cached but zones."""
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", meta.prodid)
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    calendar.add("X-WR-CALNAME", meta.name)
    calendar.add("REFRESH-INTERVAL", vDuration(meta.refresh), parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(meta.refresh))
    for zone in zones:
        calendar.add_component(zone)
    for item in events:
        vevent = Event()
        vevent.add("UID", item.uid)
        vevent.add("SEQUENCE", item.sequence)
        vevent.add("DTSTAMP", item.last_modified)
        tz = ZoneInfo(item.tzid)
        vevent.add("DTSTART", item.starts_at.astimezone(tz))
        vevent.add("DTEND", item.ends_at.astimezone(tz))
        vevent.add("SUMMARY", item.summary)
        vevent.add("LOCATION", item.location)
        vevent.add("STATUS", item.status)
        vevent.add("LAST-MODIFIED", item.last_modified)
        if item.description:
            vevent.add("DESCRIPTION", item.description)
        calendar.add_component(vevent)
    return calendar.to_ical()


def bench_build(
    events: Sequence[FeedEvent] | None = None,
    *,
    meta: FeedMeta = META,
    dtstamp: datetime = DTSTAMP,
    repeats: int = 7,
    changed_per_rebuild: int = 20,
) -> dict[str, Any]:
    """Measure build_calendar and its baselines on ``events``; figures in microseconds/event."""
    feed = list(events) if events is not None else make_events()
    n = len(feed)

    def build() -> bytes:
        return build_calendar(meta, feed, dtstamp=dtstamp)

    first = best_of(build, repeats, setup=clear_caches)

    build()  # warm every cache: what the previous request left behind
    cold = best_of(build, repeats)
    body = build()

    # A rebuild after some sessions changed: those few miss the cache and go through
    # icalendar, the rest hit. Each repeat changes different sessions so none is pre-warmed.
    round_no = 0

    def change_some() -> None:
        nonlocal round_no
        round_no += 1
        for j in range(changed_per_rebuild):
            i = (round_no * 97 + j * 101) % n
            old = feed[i]
            feed[i] = replace(
                old,
                sequence=old.sequence + 1,
                starts_at=old.starts_at + timedelta(hours=1),
                ends_at=old.ends_at + timedelta(hours=1),
                last_modified=dtstamp - timedelta(seconds=round_no),
            )

    partial = best_of(build, repeats, setup=change_some)

    zones = [
        Timezone.from_tzid(tzid, first_date=date(2027, 1, 1), last_date=date(2029, 1, 1))
        for tzid in sorted({e.tzid for e in feed})
    ]
    direct = best_of(lambda: icalendar_direct(meta, feed, zones), max(3, repeats // 2))
    prebuilt = _prebuilt_calendar(meta, feed, zones)
    direct_to_ical = best_of(prebuilt.to_ical, max(3, repeats // 2))

    strings = [block.decode() for block in _vevent_blocks(body)]
    join = best_of(lambda: "\r\n".join(strings), repeats)

    return {
        "events": n,
        "bytes": len(body),
        "first_build_us_per_event": first / n * 1e6,
        "cold_us_per_event": cold / n * 1e6,
        f"rebuild_{changed_per_rebuild}_changed_us_per_event": partial / n * 1e6,
        "icalendar_direct_us_per_event": direct / n * 1e6,
        "icalendar_to_ical_only_us_per_event": direct_to_ical / n * 1e6,
        "string_join_us_per_event": join / n * 1e6,
        "cache_bytes_per_event": _cache_bytes_per_event(meta, feed, dtstamp),
    }


def _prebuilt_calendar(
    meta: FeedMeta, feed: Sequence[FeedEvent], zones: list[Timezone]
) -> Calendar:
    return Calendar.from_ical(icalendar_direct(meta, feed, zones))


def _vevent_blocks(body: bytes) -> list[bytes]:
    start = body.index(b"BEGIN:VEVENT")
    end = body.rindex(b"END:VCALENDAR")
    return [b"BEGIN:VEVENT" + chunk for chunk in body[start:end].split(b"BEGIN:VEVENT")[1:]]


def _cache_bytes_per_event(meta: FeedMeta, feed: Sequence[FeedEvent], dtstamp: datetime) -> float:
    """Memory the event cache holds per entry, keys included (FeedEvents copied so they count)."""
    copies = [_fresh(e) for e in feed]
    clear_caches()
    build_calendar(meta, copies[:1], dtstamp=dtstamp)  # headers and zones out of the figure
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    fresh = [_fresh(e) for e in copies[1:]]
    build_calendar(meta, fresh, dtstamp=dtstamp)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / len(fresh)


def _fresh(event: FeedEvent) -> FeedEvent:
    """A copy sharing no string or datetime with ``event``, as rows loaded from a database."""
    return FeedEvent(
        uid=event.uid.encode().decode(),
        sequence=event.sequence,
        summary=event.summary.encode().decode(),
        starts_at=event.starts_at + timedelta(0),
        ends_at=event.ends_at + timedelta(0),
        tzid=event.tzid.encode().decode(),
        location=event.location.encode().decode(),
        status=event.status,
        last_modified=event.last_modified + timedelta(0),
        description=None if event.description is None else event.description.encode().decode(),
    )


def bench_not_modified(
    clients: int = 125, sessions: int = 16, repeats: int = 200
) -> dict[str, Any]:
    """Time a conditional GET of a stored 2,000-event therapist feed through the Flask app.

    The request goes through the whole stack (routing, token lookup, the freshness
    fingerprint query on a scratch SQLite database) and must answer 304. Every call of
    build_calendar and of icalendar's Component.to_ical made meanwhile is counted.
    """
    import icalendar
    from sqlalchemy import insert

    from bench._db import scratch_database
    from scheduler.config import Settings
    from scheduler.db.migrate import upgrade
    from scheduler.db.models import Client, Office, Series, Therapist, TherapySession
    from scheduler.services import directory
    from scheduler.services import feeds as feed_service
    from scheduler.web import create_app
    from scheduler.wiring import build

    with scratch_database("sqlite") as url:
        settings = Settings(
            database_url=url,
            secret_key="bench-secret-key-0123456789",
            public_base_url="https://ipt.example.org",
            locations_file=ROOT / "locations.yaml",
        )
        container = build(settings)
        upgrade(container.engine)
        offices = {"America/Los_Angeles": "seattle", "America/Phoenix": "tucson"}
        with container.sessions.begin() as db:
            directory.sync_offices(db, container.locations)
            rows = {o.id: o for o in db.query(Office)}
            therapist = Therapist(
                name="Dr. Bench", email="bench@ipt.example.org", offices=list(rows.values())
            )
            db.add(therapist)
            db.flush()
            events = make_events(clients, sessions)
            for c in range(clients):
                office = offices[events[c * sessions].tzid]
                client = Client(
                    first_name=f"F{c}",
                    last_name=f"L{c}",
                    phone=f"+1206555{c:04d}",
                    timezone=events[c * sessions].tzid,
                    home_office_id=office,
                )
                db.add(client)
                db.flush()
                first = events[c * sessions]
                local = first.starts_at.astimezone(ZoneInfo(first.tzid))
                series = Series(
                    client_id=client.id,
                    therapist_id=therapist.id,
                    office_id=office,
                    first_session_date=local.date(),
                    start_time=local.time(),
                    session_count=sessions,
                    duration_minutes=50,
                    problem_area="grief",
                )
                db.add(series)
                db.flush()
                db.execute(
                    insert(TherapySession),
                    [
                        {
                            "series_id": series.id,
                            "therapist_id": therapist.id,
                            "office_id": office,
                            "number": k + 1,
                            "local_date": start.date(),
                            "local_time": start.time(),
                            "timezone": e.tzid,
                            "starts_at": e.starts_at,
                            "ends_at": e.ends_at,
                            "status": "cancelled" if e.status == "CANCELLED" else "scheduled",
                            "revision": e.sequence,
                            "updated_at": e.last_modified,
                        }
                        for k, e in enumerate(events[c * sessions : (c + 1) * sessions])
                        for start in [e.starts_at.astimezone(ZoneInfo(e.tzid))]
                    ],
                )
            token = feed_service.rotate_token(
                db, container.ctx, "therapist", therapist.id, actor="bench"
            )
        path = f"/feeds/therapists/{token}.ics"
        web = create_app(container=container).test_client()
        full = web.get(path)  # the first request finds no stored feed and builds it
        assert full.status_code == 200, full.status_code
        etag = full.headers["ETag"]
        n = full.data.count(b"BEGIN:VEVENT")

        calls = 0
        real_build, real_to_ical = feed_service.build_calendar, icalendar.cal.Component.to_ical

        def count_build(*a: Any, **k: Any) -> bytes:
            nonlocal calls
            calls += 1
            return real_build(*a, **k)

        def count_to_ical(*a: Any, **k: Any) -> bytes:
            nonlocal calls
            calls += 1
            return real_to_ical(*a, **k)

        feed_service.build_calendar = count_build  # type: ignore[assignment]
        icalendar.cal.Component.to_ical = count_to_ical  # type: ignore[method-assign]
        try:
            statuses: set[int] = set()

            def conditional() -> None:
                statuses.add(web.get(path, headers={"If-None-Match": etag}).status_code)

            not_modified = best_of(conditional, repeats)
            stored = best_of(lambda: web.get(path), max(10, repeats // 10))
        finally:
            feed_service.build_calendar = real_build  # type: ignore[assignment]
            icalendar.cal.Component.to_ical = real_to_ical  # type: ignore[method-assign]
        container.close()
    assert statuses == {304}, statuses
    return {
        "events": n,
        "not_modified_ms": not_modified * 1e3,
        "stored_200_ms": stored * 1e3,
        "serialisations": calls,
    }


def main() -> None:
    result = bench_build()
    n = result["events"]
    print(
        f"feed: {n} events (125 clients x 16 weekly sessions, Seattle + Tucson), "
        f"{result['bytes']} bytes"
    )
    print("first_build  : every cache cleared; each VEVENT and VTIMEZONE rendered by icalendar")
    print("cold         : a rebuild with all event/zone/header caches warm; only the")
    print("               calendar assembly runs (there is no whole-feed cache)")
    print("rebuild_N    : as cold, but N sessions changed since the last build (cache misses)")
    print("icalendar_direct : Calendar + Event components built and to_ical()'d per request,")
    print("               VTIMEZONE components prebuilt (in the baseline's favour)")
    print("string_join  : '\\r\\n'.join of prebuilt VEVENT strings, the floor for any approach")
    for key, value in result.items():
        if key.endswith("per_event"):
            print(f"  {key:42s} {value:10.2f}")
    direct = result["icalendar_direct_us_per_event"]
    print(f"  speed-up of cold over icalendar_direct: {direct / result['cold_us_per_event']:.0f}x")
    print("  goal: cold_us_per_event <= 25:", result["cold_us_per_event"] <= 25)
    http = bench_not_modified()
    print(f"304 path     : conditional GET of the stored {http['events']}-event therapist feed")
    print("               through the Flask app (token lookup + freshness query), best of 200")
    print(f"  not_modified_ms {http['not_modified_ms']:8.3f}   (goal < 2 ms)")
    print(f"  stored_200_ms   {http['stored_200_ms']:8.3f}   (full body from the stored feed)")
    print(f"  serialisations during both: {http['serialisations']} (goal 0)")
    summary = {
        "events": n,
        "cold_us_per_event": round(result["cold_us_per_event"], 3),
        "first_build_us_per_event": round(result["first_build_us_per_event"], 3),
        "icalendar_direct_us_per_event": round(direct, 3),
        "string_join_us_per_event": round(result["string_join_us_per_event"], 3),
        "not_modified_ms": round(http["not_modified_ms"], 3),
        "not_modified_serialisations": http["serialisations"],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
