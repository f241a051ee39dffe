"""Outbound texts as rows, and each sender's rate-limit clock.

A text is planned as a row in the same transaction as the booking or change that causes it;
the dispatcher claims due rows, sends them and records what the provider said. Rows are
never deleted: a cancelled or suppressed text keeps its reason for the front desk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ...domain.reminders import MessageKind
from ..types import UTCDateTime, utcnow
from .base import Base

# Answers to a client's own text; every other kind is planned by the domain.
RESPONSE_KINDS = ("help", "reply")
MESSAGE_KINDS: tuple[str, ...] = (*get_args(MessageKind), *RESPONSE_KINDS)
MESSAGE_STATUSES = (
    "pending",  # planned; due at send_at (and not before next_attempt_at)
    "sending",  # claimed by a dispatcher, or sent with an outcome still to be reconciled
    "sent",  # the provider accepted it (provider_sid is set)
    "delivered",  # the provider reported delivery
    "failed",  # refused for good, or undelivered
    "cancelled",  # no longer wanted (replaced by a newer plan)
    "suppressed",  # a rule kept it from being sent; `reason` says which
)
# Rows a planner may still change; everything else is history.
OPEN_STATUSES = ("pending", "suppressed")
# Rows out of our hands: claimed, or with the provider.
DONE_STATUSES = ("sending", "sent", "delivered")


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"
    __table_args__ = (
        # The dispatcher reads pending rows per office in its order (send_at, then id); the
        # partial index stays small however much history accumulates.
        Index(
            "ix_outbound_messages_due",
            "office_id",
            "send_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Oldest pending texts across every office: the head of the claim's queue, read
        # from the index alone (hence office and retry time in it), and the oldest due text
        # that /readyz and /metrics ask for on every probe (bench/explain.py: a sequential
        # scan of every text without it).
        Index(
            "ix_outbound_messages_pending_send",
            "send_at",
            "id",
            "office_id",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Reconciliation looks only at claimed rows, by claim age.
        Index(
            "ix_outbound_messages_sending",
            "claimed_at",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
        Index("ix_outbound_messages_client_status", "client_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id"), nullable=True, index=True
    )
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id"), nullable=True, index=True
    )
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"))
    kind: Mapped[str] = mapped_column(String(30))
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # The session's revision the body was rendered from; a send whose session has moved on
    # since is stopped.
    session_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The session start this message was planned for: a sent reminder covers the session
    # only while the session keeps that start.
    session_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    to_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    provider_sid: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    provider_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A notice's facts as they were at the change that caused it (old and new time, the
    # series' pattern, count and skipped weeks): the words are built from these at send time,
    # not from the sessions as they are by then (texts.notices).
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    prompt_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsSender(Base):
    """One sending number's rate-limit clock, shared by every dispatcher process.

    A dispatcher reserves send slots `1 / rate` seconds apart from `next_slot_at` while
    holding this row's lock, so the cap holds however many workers run.
    """

    __tablename__ = "sms_senders"

    sender: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
