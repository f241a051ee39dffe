"""A development backend that prints texts instead of sending them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from scheduler.sms.gateway import OutboundSms, SendResult
from scheduler.sms.recording import RecordingGateway, utcnow


class ConsoleGateway(RecordingGateway):
    """Prints each text to `stream` and remembers it, so reconciliation works in development."""

    def __init__(
        self, stream: TextIO | None = None, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        super().__init__(clock)
        # Resolved at call time rather than as a default so that pytest's capsys sees it.
        self._stream = stream

    def send(self, message: OutboundSms) -> SendResult:
        stream = self._stream if self._stream is not None else sys.stdout
        with self._lock:
            record = self._record(message)
            print(f"SMS to {message.to} from {message.sender_label}: {message.body}", file=stream)
            stream.flush()
        return SendResult(sid=record.sid, status=record.status)
