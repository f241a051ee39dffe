"""The shared base of the local backends: they keep what they "sent", as Twilio does.

Reconciliation asks a gateway which texts went to a number since a time; the console and
fake backends answer from their own records, kept here.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from scheduler.sms.gateway import OutboundSms, SentRecord


def new_message_sid() -> str:
    """A SID shaped like Twilio's message SIDs: 'SM' followed by 32 hex digits."""
    return "SM" + uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class RecordingGateway:
    """Keeps accepted texts, oldest first, and answers `list_sent` and `sent` from them.

    Subclasses send under `self._lock` and call `_record` while holding it (the fake takes a
    scripted failure and records under that one lock).
    """

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: list[SentRecord] = []

    def _record(self, message: OutboundSms) -> SentRecord:
        """Record `message` as accepted ("queued") now, under a fresh SID; hold the lock."""
        record = SentRecord(
            sid=new_message_sid(),
            to=message.to,
            body=message.body,
            status="queued",
            date_created=self._clock(),
        )
        self._records.append(record)
        return record

    def list_sent(self, *, to: str, since: datetime) -> list[SentRecord]:
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        with self._lock:
            return [
                r
                for r in self._records
                if r.to == to and r.date_created is not None and r.date_created >= since
            ]

    @property
    def sent(self) -> list[SentRecord]:
        """Records of every message that went out, oldest first (a copy)."""
        with self._lock:
            return list(self._records)
