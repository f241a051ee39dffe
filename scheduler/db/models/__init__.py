"""All models, importable from one place. Each feature keeps its tables in its own module."""

from __future__ import annotations

from .access import ROLES, ApiToken, AuditEntry, User, user_offices
from .base import Base
from .course import Alert as Alert  # measures, their forms, risk alerts
from .course import MeasureForm as MeasureForm
from .course import MeasureResponse as MeasureResponse
from .feeds import FeedToken as FeedToken  # calendar feeds
from .feeds import StoredFeed as StoredFeed
from .inbound import InboundMessage as InboundMessage  # two-way SMS
from .inbound import InboxItem as InboxItem
from .inbound import InboxRead as InboxRead
from .inbound import ProgressRating as ProgressRating
from .messaging import OutboundMessage as OutboundMessage  # texts we send
from .messaging import SmsSender as SmsSender
from .operations import WorkerHeartbeat as WorkerHeartbeat  # readiness
from .practice import (
    Client,
    ConsentEvent,
    Office,
    PhoneConsent,
    PhoneConsentEvent,
    Therapist,
    therapist_offices,
)
from .schedule import SESSION_STATUSES, Series, TherapySession
from .web import SignInFailure as SignInFailure  # the front desk's sign-in throttle
from .web import StaffSession as StaffSession  # signed-in browsers

__all__ = [
    "ROLES",
    "SESSION_STATUSES",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Client",
    "ConsentEvent",
    "Office",
    "PhoneConsent",
    "PhoneConsentEvent",
    "Series",
    "Therapist",
    "TherapySession",
    "User",
    "therapist_offices",
    "user_offices",
]
