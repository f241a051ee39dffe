"""The SMS port and its backends; import backends from their modules, not from here.

Only `scheduler.sms.twilio` imports the twilio SDK, and nothing here imports it.
"""

from __future__ import annotations

from scheduler.sms.gateway import (
    OutboundSms,
    SendResult,
    SentRecord,
    SmsError,
    SmsGateway,
    SmsOutcomeUnknown,
    classify_twilio_error,
)

__all__ = [
    "OutboundSms",
    "SendResult",
    "SentRecord",
    "SmsError",
    "SmsGateway",
    "SmsOutcomeUnknown",
    "classify_twilio_error",
]
