"""A development backend that prints texts instead of sending them."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from scheduler.sms.gateway import OutboundSms, SendResult, SentRecord
from scheduler.sms.sent_log import SentLog, utcnow


class ConsoleGateway:
    """Prints each text to `stream` and remembers it, so reconciliation works in development."""

    def __init__(
        self, stream: TextIO | None = None, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        # Resolved at call time rather than as a default so that pytest's capsys sees it.
        self._stream = stream
        self._lock = threading.Lock()
        self._log = SentLog(clock)

    def send(self, message: OutboundSms) -> SendResult:
        stream = self._stream if self._stream is not None else sys.stdout
        with self._lock:
            record = self._log.add(message)
            print(f"SMS to {message.to} from {message.sender_label}: {message.body}", file=stream)
            stream.flush()
        return SendResult(sid=record.sid, status=record.status)

    def list_sent(self, *, to: str, since: datetime) -> list[SentRecord]:
        with self._lock:
            return self._log.to_since(to=to, since=since)

    @property
    def sent(self) -> list[SentRecord]:
        """Everything sent so far, oldest first (a copy)."""
        with self._lock:
            return self._log.all()
