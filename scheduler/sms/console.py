"""A development backend that prints texts instead of sending them."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from scheduler.sms.gateway import OutboundSms, SendResult, SentRecord


def new_message_sid() -> str:
    """A SID shaped like Twilio's message SIDs: 'SM' followed by 32 hex digits."""
    return "SM" + uuid.uuid4().hex


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ConsoleGateway:
    """Prints each text to `stream` and remembers it, so reconciliation works in development."""

    def __init__(
        self, stream: TextIO | None = None, *, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        # Resolved at call time rather than as a default so that pytest's capsys sees it.
        self._stream = stream
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: list[SentRecord] = []

    def send(self, message: OutboundSms) -> SendResult:
        record = SentRecord(
            sid=new_message_sid(),
            to=message.to,
            body=message.body,
            status="queued",
            date_created=self._clock(),
        )
        stream = self._stream if self._stream is not None else sys.stdout
        with self._lock:
            self._sent.append(record)
            print(f"SMS to {message.to} from {message.sender_label}: {message.body}", file=stream)
            stream.flush()
        return SendResult(sid=record.sid, status=record.status)

    def list_sent(self, *, to: str, since: datetime) -> list[SentRecord]:
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        with self._lock:
            return [
                r
                for r in self._sent
                if r.to == to and r.date_created is not None and r.date_created >= since
            ]

    @property
    def sent(self) -> list[SentRecord]:
        """Everything sent so far, oldest first (a copy)."""
        with self._lock:
            return list(self._sent)
