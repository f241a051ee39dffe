"""Prometheus metrics: what the processes count, and what /metrics reads from the database.

Counted in the process where it happens (prometheus_client):

- ``ipt_texts_total{kind, office, outcome}``: each text the dispatcher tried, by what became
  of it at the send step: sent, failed (for good), retried, unknown (reconciliation will ask
  the provider), released (given back unsent), suppressed (stopped under lock at send time).
  Counted once, where a batch's outcomes are recorded (texts/send.py, from texts/record.py).
- ``ipt_bookings_total{office, kind}`` and ``ipt_session_changes_total{office, change}``:
  counted when the transaction that made them commits (an observer of every calendar change).
- ``ipt_render_cache_total{result}``: lookups of a cached rendering (an office's week), hit
  (served as stored, its rows unchanged) or miss (rendered afresh).
- ``ipt_http_request_duration_seconds{endpoint, method, status}``: a histogram per route,
  labelled with the route's template (``/api/v1/clients/<int:client_id>``), never the raw
  path: ids and feed tokens stay out.

Read from the database at scrape time, so every process reports the same truth (see
``database_families``): the age of the oldest due text, the claims in flight, the age of the
newest worker heartbeat.

Under gunicorn, several processes count: with ``PROMETHEUS_MULTIPROC_DIR`` set (the
Procfile's gunicorn config sets it up, and the worker writes there too when it shares the
variable), each process writes its values to files there and /metrics adds them up. The
metric objects are declared here once per process, as prometheus_client expects; they hold
no connection and do no IO until something is counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .services import readiness
from .services.context import ScheduleChange

TEXTS = Counter(
    "ipt_texts", "Texts by what became of them at the send step", ["kind", "office", "outcome"]
)
BOOKINGS = Counter("ipt_bookings", "Series booked (committed)", ["office", "kind"])
CHANGES = Counter(
    "ipt_session_changes", "Calendar changes other than bookings (committed)", ["office", "change"]
)
REQUEST_SECONDS = Histogram(
    "ipt_http_request_duration_seconds",
    "Time to answer a request, by route template",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

RENDER_CACHE = Counter(
    "ipt_render_cache", "Cached renderings asked for (web.render_cache), by result", ["result"]
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def count_texts(outcomes: Iterable[tuple[str, str, str]]) -> None:
    """Count recorded outcomes, given as (kind, office, outcome)."""
    tally: dict[tuple[str, str, str], int] = {}
    for labels in outcomes:
        tally[labels] = tally.get(labels, 0) + 1
    for (kind, office, outcome), n in tally.items():
        TEXTS.labels(kind=kind, office=office, outcome=outcome).inc(n)


def count_render_cache(result: str) -> None:
    """A cached rendering was looked up: "hit" (served as stored) or "miss" (rendered)."""
    RENDER_CACHE.labels(result=result).inc()


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """`endpoint` is the route's template (or "<unmatched>"), never the path as asked."""
    REQUEST_SECONDS.labels(endpoint=endpoint, method=method, status=str(status)).observe(seconds)


_PENDING = "ipt_metrics_pending_changes"


class CountChanges:
    """A schedule observer counting bookings and changes once their transaction commits.

    Observers run inside the transaction; a booking rolled back afterwards must not count,
    so the labels wait in the session's `info` until its commit (and are dropped on rollback).
    """

    def after_change(self, db: Session, change: ScheduleChange) -> None:
        pending = db.info.get(_PENDING)
        if pending is None:
            pending = db.info[_PENDING] = []
            event.listen(db, "after_commit", _count_pending)
            event.listen(db, "after_rollback", _drop_pending)
        series = change.series
        if change.kind == "booked":
            pending.append((BOOKINGS, {"office": series.office_id, "kind": series.kind}))
        else:
            pending.append((CHANGES, {"office": series.office_id, "change": change.kind}))


def _count_pending(db: Session) -> None:
    pending = db.info.get(_PENDING) or []
    for counter, labels in pending:
        counter.labels(**labels).inc()
    pending.clear()


def _drop_pending(db: Session) -> None:
    (db.info.get(_PENDING) or []).clear()


class _Families(Collector):
    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> Iterable[Any]:
        return self.families


def database_families(db: Session, now: datetime) -> list[Any]:
    """Gauges computed from the database now; `ipt_database_up` 0 (and no others) if it fails."""
    up = GaugeMetricFamily("ipt_database_up", "Whether /metrics could read the database")
    try:
        due_age = readiness.oldest_due_age(db, now)
        in_flight = readiness.claims_in_flight(db)
        beat_age = readiness.heartbeat_age(db, now)
        db.rollback()
    except SQLAlchemyError:
        db.rollback()
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    oldest = GaugeMetricFamily(
        "ipt_oldest_due_text_age_seconds",
        "Seconds the oldest text that should have gone out has been waiting (0: none)",
    )
    oldest.add_metric([], due_age or 0.0)
    claims = GaugeMetricFamily(
        "ipt_claims_in_flight", "Texts claimed or with the provider, outcome not yet recorded"
    )
    claims.add_metric([], in_flight)
    families = [up, oldest, claims]
    if beat_age is not None:
        beat = GaugeMetricFamily(
            "ipt_worker_heartbeat_age_seconds", "Seconds since a worker last began a dispatch batch"
        )
        beat.add_metric([], beat_age)
        families.append(beat)
    return families


def exposition(extra: list[Any]) -> tuple[bytes, str]:
    """The text format: this host's counters (every process's, in multiprocess mode) + `extra`."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    own = CollectorRegistry()
    own.register(_Families(extra))
    return counted + generate_latest(own), CONTENT_TYPE_LATEST
