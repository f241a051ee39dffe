"""The SMS port: value types, errors and the protocol every backend implements.

Nothing here imports twilio; the pipeline depends on this module only, and the
backend is chosen once, in the composition root (`scheduler.wiring.build_gateway`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

ErrorKind = Literal["retry", "opted_out", "undeliverable", "retry_limited", "fail"]

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")

# Twilio accepts ValidityPeriod between 1 and 36000 seconds (10 hours).
VALIDITY_MIN_S = 1
VALIDITY_MAX_S = 36000

_RETRY_CODES = frozenset({20429})
_OPTED_OUT_CODES = frozenset({21610})
_UNDELIVERABLE_CODES = frozenset({21211, 21614, 30006})
_RETRY_LIMITED_CODES = frozenset({30003})


@dataclass(frozen=True)
class OutboundSms:
    """One text to send; `validity_period_s` is clamped into Twilio's 1..36000 range."""

    to: str
    body: str
    from_number: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    validity_period_s: int | None = None

    def __post_init__(self) -> None:
        if not E164.match(self.to):
            raise ValueError(f"to: not an E.164 number: {self.to!r}")
        if self.from_number is not None and not E164.match(self.from_number):
            raise ValueError(f"from_number: not an E.164 number: {self.from_number!r}")
        if self.validity_period_s is not None:
            clamped = min(VALIDITY_MAX_S, max(VALIDITY_MIN_S, int(self.validity_period_s)))
            # Frozen dataclass: normalising in place is the one sanctioned write.
            object.__setattr__(self, "validity_period_s", clamped)

    @property
    def sender_label(self) -> str:
        """Who the text is sent as, for logs and the console backend."""
        return self.from_number or self.messaging_service_sid or "(default sender)"


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


@dataclass(frozen=True)
class SentRecord:
    sid: str
    to: str
    body: str
    status: str
    date_created: datetime | None


def classify_twilio_error(code: int | None, http_status: int | None) -> ErrorKind:
    """Decide what the caller should do about a Twilio error code and/or HTTP status."""
    if code in _OPTED_OUT_CODES:
        return "opted_out"
    if code in _UNDELIVERABLE_CODES:
        return "undeliverable"
    if code in _RETRY_LIMITED_CODES:
        return "retry_limited"
    if code in _RETRY_CODES or http_status == 429:
        return "retry"
    if http_status is not None and 500 <= http_status <= 599:
        return "retry"
    return "fail"


class SmsError(Exception):
    """Twilio (or a backend) refused the message; it was NOT sent.

    `retryable` defaults to what `classify_twilio_error` says about code and status.
    """

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.code = code
        self.status = status
        if retryable is None:
            retryable = classify_twilio_error(code, status) in ("retry", "retry_limited")
        self.retryable = retryable
        self.message = message or f"SMS rejected (code={code}, status={status})"
        super().__init__(self.message)

    @property
    def kind(self) -> ErrorKind:
        return classify_twilio_error(self.code, self.status)

    def __repr__(self) -> str:
        return (
            f"SmsError({self.message!r}, code={self.code}, status={self.status}, "
            f"retryable={self.retryable})"
        )


class SmsOutcomeUnknown(Exception):
    """The request may have reached Twilio: reconcile with `list_sent` before any resend."""


class SmsGateway(Protocol):
    def send(self, message: OutboundSms) -> SendResult: ...

    def list_sent(self, *, to: str, since: datetime) -> list[SentRecord]: ...
