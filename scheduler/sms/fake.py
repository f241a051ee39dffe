"""An in-memory gateway for tests: records sends and fails on cue."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from scheduler.sms.gateway import OutboundSms, SendResult, SmsError, SmsOutcomeUnknown
from scheduler.sms.recording import RecordingGateway, utcnow


@dataclass
class _Failure:
    error: SmsError | SmsOutcomeUnknown
    remaining: int | None  # None: for ever
    delivered: bool


class FakeGateway(RecordingGateway):
    """Thread-safe fake of `SmsGateway`.

    Script failures with `fail_next` (the next N sends, whoever they are for) or
    `fail_for` (sends to one number). A scripted `SmsOutcomeUnknown` with
    `delivered=True` records the message before raising, as when Twilio accepted
    the text but the reply was lost: that is what reconciliation has to find.
    """

    def __init__(self, *, latency: float = 0.0, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(clock)
        self.latency = latency
        self._messages: list[OutboundSms] = []
        self._next: list[_Failure] = []
        self._by_to: dict[str, _Failure] = {}
        self.attempts = 0

    # -- scripting ---------------------------------------------------------------

    def fail_next(
        self,
        error: SmsError | SmsOutcomeUnknown,
        times: int = 1,
        *,
        delivered: bool = False,
    ) -> None:
        """Make the next `times` sends raise `error` (queued after earlier scripts)."""
        if times < 1:
            raise ValueError("times must be >= 1")
        self._check(error, delivered)
        with self._lock:
            self._next.append(_Failure(error, times, delivered))

    def fail_for(
        self,
        to: str,
        error: SmsError | SmsOutcomeUnknown,
        times: int | None = None,
        *,
        delivered: bool = False,
    ) -> None:
        """Make sends to `to` raise `error`, `times` times or (None) until cleared."""
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        self._check(error, delivered)
        with self._lock:
            self._by_to[to] = _Failure(error, times, delivered)

    def clear_failures(self) -> None:
        with self._lock:
            self._next.clear()
            self._by_to.clear()

    @staticmethod
    def _check(error: BaseException, delivered: bool) -> None:
        if not isinstance(error, SmsError | SmsOutcomeUnknown):
            raise TypeError("error must be SmsError or SmsOutcomeUnknown")
        if delivered and not isinstance(error, SmsOutcomeUnknown):
            raise ValueError("delivered=True only makes sense with SmsOutcomeUnknown")

    def _take_failure(self, to: str) -> _Failure | None:
        # Caller holds the lock. A per-number rule wins over the generic queue.
        failure = self._by_to.get(to)
        if failure is not None:
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining == 0:
                    del self._by_to[to]
            return failure
        if self._next:
            failure = self._next[0]
            assert failure.remaining is not None
            failure.remaining -= 1
            if failure.remaining == 0:
                self._next.pop(0)
            return failure
        return None

    # -- the port ------------------------------------------------------------------

    def send(self, message: OutboundSms) -> SendResult:
        if self.latency > 0:
            time.sleep(self.latency)
        with self._lock:
            self.attempts += 1
            failure = self._take_failure(message.to)
            if failure is not None and not failure.delivered:
                raise failure.error
            record = self._record(message)
            self._messages.append(message)
            if failure is not None:
                raise failure.error
        return SendResult(sid=record.sid, status=record.status)

    # -- inspection ----------------------------------------------------------------

    @property
    def messages(self) -> list[OutboundSms]:
        """The `OutboundSms` values that went out, oldest first (a copy)."""
        with self._lock:
            return list(self._messages)

    def sent_to(self, to: str) -> list[OutboundSms]:
        with self._lock:
            return [m for m in self._messages if m.to == to]
