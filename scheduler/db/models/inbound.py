"""Texts clients send us, the office inboxes they land in, and weekly progress ratings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..types import UTCDateTime, utcnow
from .base import Base
from .practice import Client
from .schedule import TherapySession

INBOX_STATUSES = ("open", "resolved")
# What an inbox item asks staff to look at. `unrouted` has no office: the text reached a number
# that is not any office's sender, so only admins see it.
INBOX_KINDS = (
    "reschedule_request",
    "free_text",
    "unknown_sender",
    "ambiguous_sender",
    "confirm_unmatched",
    "undeliverable_phone",
    "text_failed",  # a text the carrier refused or could not deliver after retries
    "unrouted",
    "offer_maintenance",  # a course is two sessions from its end: offer maintenance sessions
    "measure_alert",  # admins only: a questionnaire answer signalled risk (see alerts)
    "possible_opt_out",  # "cancel"/"end" inside a longer text: a visit, or stop all texts?
)


class InboundMessage(Base):
    """One text as Twilio delivered it; `message_sid` is unique so a retried webhook acts once."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    account_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32))
    # NULL when the To number is no office's sender (see INBOX_KINDS "unrouted").
    office_id: Mapped[str | None] = mapped_column(
        ForeignKey("offices.id"), nullable=True, index=True
    )
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id"), nullable=True, index=True
    )
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"), nullable=True)
    body: Mapped[str] = mapped_column(Text, default="")
    num_media: Mapped[int] = mapped_column(Integer, default=0)
    keyword: Mapped[str] = mapped_column(String(20))  # scheduler.domain.sms.Keyword
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(40))  # what we did about it
    # Kept so that a retried delivery gets the same answer without acting twice.
    reply_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    client: Mapped[Client | None] = relationship()


class InboxItem(Base):
    """Something an office's staff must read or act on; resolved with a note, never deleted."""

    __tablename__ = "inbox_items"
    __table_args__ = (
        Index("ix_inbox_items_office_status", "office_id", "status"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        # At most one open "offer maintenance" task per series, however many workers sweep
        # at once (services.termination).
        Index(
            "uq_inbox_items_open_offer",
            "series_id",
            unique=True,
            postgresql_where=text("status = 'open' AND kind = 'offer_maintenance'"),
            sqlite_where=text("status = 'open' AND kind = 'offer_maintenance'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office_id: Mapped[str | None] = mapped_column(ForeignKey("offices.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="open")
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id"), nullable=True, index=True
    )
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"), nullable=True)
    # The series an item is about, for items the system opens per series (offer_maintenance).
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), nullable=True)
    # Clinical items (measure_alert) are for admins only, never the office's front desk.
    admins_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Read first: a text that may revoke consent to texts (possible_opt_out) cannot wait.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    inbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id"), nullable=True, index=True
    )
    # What staff read: the client's words, or a system explanation for kinds with no text.
    summary: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(254), nullable=True)

    client: Mapped[Client | None] = relationship()
    session: Mapped[TherapySession | None] = relationship()
    inbound_message: Mapped[InboundMessage | None] = relationship()


class InboxRead(Base):
    """One user opened one inbox item: until then the item is unread for that user."""

    __tablename__ = "inbox_reads"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_items.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProgressRating(Base):
    """A 1-5 answer to a week's goal prompt, shown in the next session's weekly review.

    `prompt_message_id` names the outbound goal prompt it answers. It is a plain integer, not a
    foreign key, because outbound_messages is created by a sibling migration branch that may run
    after this one.
    """

    __tablename__ = "progress_ratings"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    # The session whose weekly goal the rating is about (the prompt's session), if known.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id"), nullable=True, index=True
    )
    prompt_message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    inbound_message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    rating: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
