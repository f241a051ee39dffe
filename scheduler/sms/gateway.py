"""The SMS port: value types, errors and the protocol every backend implements.

Nothing here imports twilio; the pipeline depends on this module only, and the
backend is chosen once, in the composition root (`scheduler.wiring.build_gateway`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

ErrorKind = Literal["retry", "opted_out", "undeliverable", "retry_limited", "attention", "fail"]

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")

# Twilio accepts ValidityPeriod between 1 and 36000 seconds (10 hours).
VALIDITY_MIN_S = 1
VALIDITY_MAX_S = 36000

# What each Twilio error means for us, in the words the front desk sees. The codes come back
# on a create (20429, 21xxx) or in a delivery report (30xxx); `classify_twilio_error` reads
# the kind, `scheduler.texts.outcomes` says what each kind does to the text and the client.
TWILIO_ERRORS: dict[int, tuple[ErrorKind, str]] = {
    20429: ("retry", "too many requests"),
    21610: ("opted_out", "the number has opted out (replied STOP)"),
    21211: ("undeliverable", "not a valid phone number"),
    21614: ("undeliverable", "not a mobile number"),
    30003: ("retry_limited", "the handset is unreachable"),
    30004: ("undeliverable", "texts to this number are blocked"),
    30005: ("undeliverable", "unknown or inactive number"),
    30006: ("undeliverable", "a landline or a carrier that cannot take texts"),
    30007: ("attention", "the carrier filtered the text"),
    30008: ("retry_limited", "unknown delivery error"),
}


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


def describe_twilio_error(code: int | None) -> str:
    """A few plain words for a Twilio error code (no client data), for the desk and the logs."""
    if code is not None and code in TWILIO_ERRORS:
        return f"Twilio error {code}: {TWILIO_ERRORS[code][1]}"
    return f"Twilio error {code}" if code is not None else "Twilio error"


def classify_twilio_error(code: int | None, http_status: int | None) -> ErrorKind:
    """Decide what the caller should do about a Twilio error code and/or HTTP status."""
    if code is not None and code in TWILIO_ERRORS:
        return TWILIO_ERRORS[code][0]
    if http_status == 429:
        return "retry"
    if http_status is not None and 500 <= http_status <= 599:
        return "retry"
    return "fail"


class SmsError(Exception):
    """Twilio (or a backend) refused the message; it was NOT sent.

    `retryable` defaults to what `classify_twilio_error` says about code and status.
    `retry_after` (seconds) is the provider's Retry-After on a 429: the sender must slow down.
    """

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.status = status
        self.retry_after = retry_after
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
            f"retryable={self.retryable}, retry_after={self.retry_after})"
        )


class SmsOutcomeUnknown(Exception):
    """The request may have reached Twilio: reconcile with `list_sent` before any resend."""


class SmsGateway(Protocol):
    def send(self, message: OutboundSms) -> SendResult: ...

    def list_sent(self, *, to: str, since: datetime) -> list[SentRecord]: ...
