"""What the browser front desk needs to remember between requests and processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..types import UTCDateTime, utcnow
from .access import User
from .base import Base


class SignInFailure(Base):
    """One failed sign-in for an (account, client address) pair.

    Kept as rows rather than a counter in memory so that every web process (gunicorn runs
    several) sees the same tally; rows older than the throttle window are swept on write.
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_account_ip_at", "account", "ip", "at"),
        # The per-address limit counts failures from one address whatever the account.
        Index("ix_sign_in_failures_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(254))  # the email as typed, lower-cased
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class StaffSession(Base):
    """One signed-in browser. The signed cookie carries a random secret; the row, its SHA-256.

    Kept in the database so that signing out, disabling a user or changing a password ends
    the session for every web process at once, and a copied cookie stops working with it.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written at most once a minute (see services.staff_sessions), so reads stay reads.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
