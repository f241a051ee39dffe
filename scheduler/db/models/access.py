"""Who may do what: users, API tokens, and the audit log of every change and health-data read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..types import UTCDateTime, utcnow
from .base import Base
from .practice import Office

ROLES = ("admin", "front_desk", "therapist")

user_offices = Table(
    "user_offices",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("offices.id"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    # A therapist user sees only this therapist's sessions and clients.
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapists.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Front-desk staff limited to these offices; empty means every office. Loaded when first
    # read (only a front-desk user's reach reads it), not with every user: each API request
    # loads its user, and admins and therapists would pay a query for an unused list.
    offices: Mapped[list[Office]] = relationship(secondary=user_offices)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a database leak reveals no token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # None: valid until revoked. `tokens create --days N` sets it.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class AuditEntry(Base):
    """One change (``client.created``, ``session.cancelled``...) or one read of health data
    (``client.viewed``, ``review.viewed``...; see `scheduler.services.audit.record_views`)."""

    __tablename__ = "audit_log"
    # "Who viewed this client": the admin's question, answered newest first.
    __table_args__ = (Index("ix_audit_log_client_at", "client_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(254))  # user email, "sms:+1...", "system", "cli"
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40))
    series_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # The client whose record was read (set by reads; no foreign key, so the trail outlives
    # a merged-away record).
    client_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
