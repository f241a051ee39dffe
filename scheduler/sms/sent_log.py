"""What a local backend has "sent", kept so reconciliation can ask for it as it asks Twilio."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from scheduler.sms.gateway import OutboundSms, SentRecord


def new_message_sid() -> str:
    """A SID shaped like Twilio's message SIDs: 'SM' followed by 32 hex digits."""
    return "SM" + uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class SentLog:
    """The records of accepted texts, oldest first.

    Not locked on its own: each gateway already holds its lock around a send (the fake
    must take a scripted failure and record under that one lock), and around reads.
    """

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock
        self._records: list[SentRecord] = []

    def add(self, message: OutboundSms) -> SentRecord:
        """Record `message` as accepted ("queued") now, under a fresh SID."""
        record = SentRecord(
            sid=new_message_sid(),
            to=message.to,
            body=message.body,
            status="queued",
            date_created=self._clock(),
        )
        self._records.append(record)
        return record

    def to_since(self, *, to: str, since: datetime) -> list[SentRecord]:
        """The records for `to` created at or after `since`, as `SmsGateway.list_sent` wants."""
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        return [
            r
            for r in self._records
            if r.to == to and r.date_created is not None and r.date_created >= since
        ]

    def all(self) -> list[SentRecord]:
        """Every record, oldest first (a copy)."""
        return list(self._records)
