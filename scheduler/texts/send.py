"""The dispatcher: claim due texts, check them again under lock, send at their slots, record.

One batch goes through three steps:

1. claim (`claim.claim_batch`, one short transaction): rows become "sending", with the
   rendered body, the number and the session revision they were rendered from.
2. send, per cluster of close slots, in one transaction that first (`verify.split`) locks
   the texts' sessions FOR SHARE (SKIP LOCKED) and the rows FOR UPDATE, compares each session's
   revision with the one rendered, sends what still matches (bounded concurrency, each at
   its slot), and records the outcome. A session change (which updates the session row)
   therefore waits until these sends are recorded, or, if it came first, makes the check
   fail: a stale text never leaves. On SQLite the transaction holds the single write lock,
   which gives the same guarantee.
3. afterwards: texts that failed the check go back to "pending" (re-rendered, or re-planned
   if their timing moved, on the next claim), and client-level outcomes (opt-out,
   undeliverable number) are recorded.

A crash between sending and recording leaves the row "sending"; `reconcile` asks the
provider about it before anything is sent again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased, sessionmaker

from .. import metrics
from ..db.models import OutboundMessage
from ..db.models.messaging import DONE_STATUSES
from ..db.types import utcnow
from ..services.context import ServiceContext
from ..sms.gateway import OutboundSms, SendResult, SmsError, SmsGateway
from . import claim, due, links, outcomes, record, senders, verify
from .claim import Claimed
from .observer import replan_series
from .plan import NOTICE_KINDS

log = logging.getLogger(__name__)
_M = OutboundMessage
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


@dataclass
class PassStats:
    batches: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    released: int = 0
    suppressed: int = 0
    deferred: int = 0
    replanned: int = 0
    flagged: int = 0  # sent, but the provider's answer was odd (a duplicate SID): see record

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    """Sends due texts. Safe to run in any number of threads and processes at once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        ctx: ServiceContext,
        gateway: SmsGateway,
        *,
        worker_id: str | None = None,
        batch_size: int | None = None,
        concurrency: int | None = None,
        horizon: float = 3.0,
        cluster_gap: float = 0.25,
        stop: threading.Event | None = None,
        before_send: Callable[[list[Claimed]], None] | None = None,
        on_start: Callable[[Claimed, datetime], None] | None = None,
    ) -> None:
        settings = ctx.settings
        self.sessions = sessions
        self.ctx = ctx
        self.gateway = gateway
        self.worker = worker_id or default_worker_id()
        self.batch_size = batch_size or settings.dispatch_batch_size
        self.horizon = horizon  # seconds of send slots one claim may reserve
        self.cluster_gap = cluster_gap  # slots further apart are sent in separate transactions
        self.stop = stop or threading.Event()
        self.before_send = before_send  # a test seam: runs between claim and send
        # A test seam: told the instant each send starts, as paced (what the rate limits).
        self.on_start = on_start
        # Called before each claim: the worker records its heartbeat there, so a long pass
        # (a backlog sent at 1 text/s) still shows a live worker.
        self.on_batch: Callable[[], None] | None = None
        self.status_callback = settings.public_base_url.rstrip("/") + STATUS_CALLBACK_PATH
        # A reply lost to a timeout is looked for at the provider after this long.
        self.unknown_grace = timedelta(seconds=max(1, settings.dispatch_claim_timeout_seconds // 4))
        self.concurrency = concurrency or settings.dispatch_concurrency
        self._pool = ThreadPoolExecutor(
            max_workers=self.concurrency,
            thread_name_prefix="sms-send",
        )
        self._known_senders: set[str] = set()
        self._way = due.HeadOrHop()  # how this dispatcher's claims found their candidates
        # When each sender's last send in this process started: a send that starts late
        # must not bring the next one closer than the sender's interval.
        self._pace_lock = threading.Lock()
        self._last_start: dict[str, datetime] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # --- the pass -----------------------------------------------------------------------

    def run_pass(self, max_batches: int | None = None) -> PassStats:
        """Claim and send until nothing is due (or `stop` is set)."""
        stats = PassStats()
        idle = 0
        while not self.stop.is_set() and (max_batches is None or stats.batches < max_batches):
            if self.on_batch is not None:
                self.on_batch()
            with self.sessions.begin() as db:
                result = claim.claim_batch(
                    db,
                    self.ctx,
                    worker=self.worker,
                    limit=self.batch_size,
                    horizon=self.horizon,
                    known_senders=self._known_senders,
                    way=self._way,
                )
            stats.batches += 1
            stats.claimed += len(result.claimed)
            stats.suppressed += result.suppressed
            stats.deferred += result.deferred
            for series_id in sorted(result.replan):
                with self.sessions.begin() as db:
                    replan_series(db, self.ctx, series_id)
                stats.replanned += 1
            if result.claimed:
                idle = 0
                self._send(result.claimed, stats)
                continue
            # Nothing claimed: stop, unless this batch changed rows that may uncover others or
            # other dispatchers held every candidate for a moment.
            idle += 1
            if idle > 20 or not (
                result.replan or result.deferred or result.suppressed or result.contended
            ):
                break
            if result.contended:
                self.stop.wait(0.01 * idle)
        return stats

    def _send(self, claimed: list[Claimed], stats: PassStats) -> None:
        if self.before_send is not None:
            self.before_send(claimed)
        ordered = sorted(claimed, key=lambda c: c.slot)
        clusters: list[list[Claimed]] = []
        for c in ordered:
            gap = (c.slot - clusters[-1][-1].slot).total_seconds() if clusters else None
            if gap is None or gap > self.cluster_gap:
                clusters.append([])
            clusters[-1].append(c)
        for index, cluster in enumerate(clusters):
            wait = (cluster[0].slot - utcnow()).total_seconds()
            if self.stop.is_set() or (wait > 0 and self.stop.wait(wait)):
                rest = [c for later in clusters[index:] for c in later]
                self._release(rest, stats)
                return
            self._send_cluster(cluster, stats)

    def _send_cluster(self, cluster: list[Claimed], stats: PassStats) -> None:
        now = self.ctx.clock()
        stamp = utcnow()
        unknown_until = stamp + self.unknown_grace
        rec: record.Recording | None = None
        release: list[Claimed] = []
        try:
            with self.sessions.begin() as db:
                sendable, release, suppress = verify.split(db, cluster, now, self.worker)
                results = self._deliver_all(sendable, now)
                rec = record.plan(results, suppress, now=now, unknown_until=unknown_until)
                record.write_all(db, rec, stamp)
        except SQLAlchemyError:
            if rec is None:
                # Nothing was sent (the database failed while checking): give the cluster
                # back. If that fails too, the claims time out and are reconciled.
                log.warning("dispatch: database error before sending; giving back %d", len(cluster))
                self._release(cluster, stats)
                return
            log.warning("dispatch: recording the batch failed; recording text by text")
            stats.flagged += record.write_each(
                self.sessions,
                rec,
                worker=self.worker,
                stamp=stamp,
                unknown_until=unknown_until,
            )
        for name, count in rec.counts.items():
            setattr(stats, name, getattr(stats, name) + count)
        metrics.count_texts(rec.outcomes)
        self._release(release, stats)
        self._after(rec)

    def _after(self, rec: record.Recording) -> None:
        """What the outcomes mean beyond the rows: slower senders, the clients' records."""
        if rec.slow_down:
            until = {s: utcnow() + timedelta(seconds=t) for s, t in rec.slow_down.items()}
            try:
                with self.sessions.begin() as db:
                    senders.slow_senders(db, until)
            except SQLAlchemyError as exc:
                # This process holds off anyway (`_deliver`); the next 429 tries this again.
                log.warning("cannot slow senders down (%s)", type(exc).__name__)
        for e in rec.effects:
            try:
                with self.sessions.begin() as db:
                    outcomes.apply_effect(db, e.client_id, e.effect, code=e.code, error=e.error)
            except SQLAlchemyError as exc:
                # The text's own outcome is recorded; the next refusal will try this again.
                log.warning(
                    "cannot record %s for client %s (%s)", e.effect, e.client_id, type(exc).__name__
                )

    def _deliver_all(self, sendable: list[Claimed], now: datetime) -> list[tuple[Claimed, Any]]:
        """Send in `concurrency` lanes; each lane takes every n-th text, in slot order."""
        if not sendable:
            return []
        lanes = min(self.concurrency, len(sendable))
        futures = [
            self._pool.submit(lambda chunk: [(c, self._deliver(c, now)) for c in chunk], chunk)
            for chunk in (sendable[i::lanes] for i in range(lanes))
        ]
        return [pair for f in futures for pair in f.result()]

    def _deliver(self, c: Claimed, now: datetime) -> SendResult | BaseException | None:
        """Runs in the send pool: wait for the slot, then send. None: stopped before sending."""
        # Start no earlier than the slot, and never closer than the sender's interval to
        # the previous send from this process that actually started (a late wake-up must
        # not bunch the next two together).
        while True:
            with self._pace_lock:
                previous = self._last_start.get(c.sender)
                earliest = c.slot
                if previous is not None:
                    earliest = max(earliest, previous + timedelta(seconds=c.interval))
                current = utcnow()
                if current >= earliest:
                    self._last_start[c.sender] = current
                    if self.on_start is not None:
                        self.on_start(c, current)
                    break
            if self.stop.wait((earliest - current).total_seconds()):
                return None
        try:
            validity = None
            if c.expires_at is not None:
                validity = int((c.expires_at - now).total_seconds())
            message = OutboundSms(
                to=c.to,
                body=links.expand(c.body, self.ctx.settings),  # the stored body has no token
                from_number=c.from_number,
                messaging_service_sid=None
                if c.from_number
                else self.ctx.settings.twilio_messaging_service_sid,
                status_callback=self.status_callback,
                validity_period_s=validity,
            )
        except ValueError as exc:
            return SmsError(f"cannot send: {exc}", retryable=False)
        try:
            return self.gateway.send(message)
        except SmsError as exc:
            if exc.retry_after is not None:
                # The provider asked this sender to slow down: this process's next send
                # from it waits too (other processes follow the shared clock in sms_senders).
                resume = utcnow() + timedelta(seconds=exc.retry_after - c.interval)
                with self._pace_lock:
                    previous = self._last_start.get(c.sender)
                    self._last_start[c.sender] = max(resume, previous or resume)
            return exc
        except Exception as exc:  # SmsOutcomeUnknown, or a backend bug
            return exc

    def _release(self, claimed: list[Claimed], stats: PassStats) -> None:
        """Give unsent claims back; a notice that a newer one replaced is cancelled instead."""
        if not claimed:
            return
        ids = [c.id for c in claimed]
        newer = aliased(_M)
        replaced = exists().where(
            and_(
                newer.session_id == _M.session_id,
                newer.kind.in_(NOTICE_KINDS),
                newer.id > _M.id,
                newer.status.in_(("pending", *DONE_STATUSES)),
            )
        )
        mine = and_(_M.id.in_(ids), _M.status == "sending", _M.claimed_by == self.worker)
        stamp = utcnow()
        with self.sessions.begin() as db:
            db.execute(
                update(_M)
                .where(mine, _M.kind.in_(NOTICE_KINDS), replaced)
                .values(status="cancelled", reason="replaced by a newer notice", updated_at=stamp)
                .execution_options(synchronize_session=False)
            )
            db.execute(
                update(_M)
                .where(mine)
                .values(
                    status="pending",
                    claimed_by=None,
                    attempts=_M.attempts - 1,  # it was never tried
                    updated_at=stamp,
                )
                .execution_options(synchronize_session=False)
            )
        stats.released += len(ids)
