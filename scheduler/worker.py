"""The worker: an APScheduler process with interval jobs only: dispatch, reconcile, housekeeping.

Jobs never live in a job store: the texts are rows in the database, so any number of worker
processes can run side by side (APScheduler's own job stores cannot be shared between
processes). Add a job by appending a `Job` to `JOBS`.

SIGTERM (or SIGINT) stops cleanly: no new job starts, texts already on their way to the
provider are finished and recorded, and claimed texts not yet sent are given back.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.exc import SQLAlchemyError

from . import logs
from .config import Settings
from .services import readiness, signin, staff_sessions
from .services.feeds import refresh_stale_feeds
from .services.termination import sweep as open_due_offers
from .sms.gateway import SmsGateway
from .texts.reconcile import expire_pending, reconcile
from .texts.send import Dispatcher
from .wiring import Container

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the jobs of one worker share."""

    container: Container
    gateway: SmsGateway
    dispatcher: Dispatcher
    worker_id: str
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable[[Runtime], object]
    seconds: Callable[[Settings], float]  # the interval, from the settings
    start_at_once: bool = True


def dispatch_job(rt: Runtime) -> object:
    stats = rt.dispatcher.run_pass()
    if stats.claimed or stats.suppressed:
        log.info("dispatch: %s", stats.as_dict())
    return stats


def reconcile_job(rt: Runtime) -> object:
    timeout = timedelta(seconds=rt.container.settings.dispatch_claim_timeout_seconds)
    with rt.container.sessions.begin() as db:
        stats = reconcile(
            db,
            rt.gateway,
            claim_timeout=timeout,
            worker=rt.worker_id,
            settings=rt.container.settings,
        )
    if stats.found_sent or stats.requeued or stats.still_unknown:
        log.info("reconcile: %s", stats.as_dict())
    return stats


def housekeeping_job(rt: Runtime) -> object:
    now = rt.container.ctx.clock()
    with rt.container.sessions.begin() as db:
        expired = expire_pending(db, now)
    if expired:
        log.info("housekeeping: %d pending texts expired", expired)
    with rt.container.sessions.begin() as db:
        # Expired sessions are refused when used anyway; sweeping keeps the tables small.
        limits = staff_sessions.Limits.from_settings(rt.container.settings)
        sessions = staff_sessions.sweep(db, now=now, limits=limits)
        failures = signin.sweep(db, now=now)
        readiness.sweep(db, now)
    if sessions or failures:
        log.info("housekeeping: %d ended sessions, %d old sign-in failures", sessions, failures)
    with rt.container.sessions.begin() as db:
        offers = open_due_offers(db, rt.container.ctx)
    if offers:
        log.info("housekeeping: %d offer-maintenance tasks opened", offers)
    return expired


def feeds_job(rt: Runtime) -> object:
    # Requests rebuild a stale feed themselves; this keeps polls a lookup, not a build.
    rebuilt = refresh_stale_feeds(rt.container.sessions, rt.container.ctx)
    if rebuilt:
        log.info("feeds: %d stored feeds rebuilt", rebuilt)
    return rebuilt


class Heartbeat:
    """Tells readiness checks this worker is alive, before each claim but at most once a second
    (a pass over a backlog claims many batches; one row write a second is plenty against a
    limit of three dispatch intervals). A failed write only costs one beat."""

    def __init__(self, container: Container, worker_id: str) -> None:
        self.container = container
        self.worker_id = worker_id
        self.last: datetime | None = None

    def __call__(self) -> None:
        now = self.container.clock()
        if self.last is not None and timedelta(0) <= now - self.last < timedelta(seconds=1):
            return
        try:
            with self.container.sessions.begin() as db:
                readiness.beat(db, self.worker_id, now)
        except SQLAlchemyError as exc:
            log.warning("worker: cannot record heartbeat (%s)", type(exc).__name__)
            return
        self.last = now


def _reconcile_every(settings: Settings) -> float:
    # Often enough that a dead worker's claims are settled soon after they time out.
    return float(min(30, max(1, settings.dispatch_claim_timeout_seconds // 4)))


JOBS: list[Job] = [
    Job("dispatch", dispatch_job, lambda s: s.dispatch_interval_seconds),
    Job("reconcile", reconcile_job, _reconcile_every),
    Job("housekeeping", housekeeping_job, lambda s: 300, start_at_once=False),
    Job("feeds", feeds_job, lambda s: 60),
]


class _StopsTheRuntime:
    """Shutting the scheduler down first tells running jobs to wrap up."""

    runtime: Runtime

    def shutdown(self, wait: bool = True) -> None:
        self.runtime.stop.set()
        super().shutdown(wait=wait)  # type: ignore[misc]
        if wait:
            self.runtime.dispatcher.close()


class WorkerBlockingScheduler(_StopsTheRuntime, BlockingScheduler):
    pass


class WorkerBackgroundScheduler(_StopsTheRuntime, BackgroundScheduler):
    pass


def build_scheduler(
    container: Container, blocking: bool, *, jobs: list[Job] | None = None
) -> BaseScheduler:
    """A scheduler with the worker's interval jobs added; start() it to run them."""
    settings = container.settings
    dispatcher = container.dispatcher
    # dispatcher.stop is set by shutdown(): running passes give back what they hold.
    runtime = Runtime(container, container.gateway, dispatcher, dispatcher.worker, dispatcher.stop)
    dispatcher.on_batch = Heartbeat(container, dispatcher.worker)
    chosen = JOBS if jobs is None else jobs
    options: dict[str, Any] = {
        "timezone": UTC,
        "executors": {"default": ThreadPoolExecutor(max_workers=len(chosen) + 1)},
        "job_defaults": {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    }
    cls = WorkerBlockingScheduler if blocking else WorkerBackgroundScheduler
    scheduler = cls(**options)
    scheduler.runtime = runtime
    for job in chosen:
        # Left out, next_run_time means "one interval from now" (None would pause the job).
        first = {"next_run_time": datetime.now(UTC)} if job.start_at_once else {}
        scheduler.add_job(
            job.run,
            "interval",
            args=[runtime],
            id=job.id,
            name=job.id,
            seconds=job.seconds(settings),
            **first,
        )
    return scheduler


def configure_logging(level: int = logging.INFO) -> None:
    """Our own INFO lines; libraries only when something is wrong (see `logs.configure`)."""
    logs.configure("text", level)


def run(container: Container) -> None:
    """Run the worker in this process until SIGTERM or SIGINT."""
    logs.configure(container.settings.log_format)  # LOG_FORMAT=json: one object a line
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics_dir:
        os.makedirs(metrics_dir, exist_ok=True)
    else:
        log.warning(
            "worker: PROMETHEUS_MULTIPROC_DIR is not set, so /metrics will not show this"
            " worker's text counters (give it the web's directory)"
        )
    scheduler = build_scheduler(container, blocking=True)
    stopping: list[threading.Thread] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # Shutting down waits for running jobs; do it off the signal handler's stack.
        if not stopping:
            log.info("worker: signal %s, stopping", signum)
            thread = threading.Thread(target=scheduler.shutdown, name="worker-stop")
            stopping.append(thread)
            thread.start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("worker: started with jobs %s", ", ".join(j.id for j in scheduler.get_jobs()))
    scheduler.start()  # blocks until shutdown
    for thread in stopping:
        thread.join()
    container.close()
