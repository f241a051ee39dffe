"""What the browser front desk needs to remember between requests and processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..types import UTCDateTime, utcnow
from .base import Base


class SignInFailure(Base):
    """One failed sign-in for an (account, client address) pair.

    Kept as rows rather than a counter in memory so that every web process (gunicorn runs
    several) sees the same tally; rows older than the throttle window are swept on write.
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_account_ip_at", "account", "ip", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(254))  # the email as typed, lower-cased
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
