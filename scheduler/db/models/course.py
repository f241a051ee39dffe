"""The course as a whole: symptom measures, the forms that collect them, and risk alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..types import UTCDateTime, utcnow
from .base import Base
from .schedule import Series, TherapySession

MEASURE_SOURCES = ("office", "link", "staff")
MEASURE_FORM_PURPOSES = ("office", "link")
ALERT_STATUSES = ("open", "acknowledged")


class MeasureResponse(Base):
    """One completed questionnaire (PHQ-9 or GAD-7) for one session; at most one per instrument.

    The total score is stored beside the answers so that reports can aggregate in SQL.
    """

    __tablename__ = "measures"
    __table_args__ = (
        UniqueConstraint("session_id", "instrument"),
        Index("ix_measures_series_instrument", "series_id", "instrument", "taken_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(10))  # domain.measures.Instrument
    answers: Mapped[list[int]] = mapped_column(JSON)
    difficulty: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(10))  # office | link | staff
    recorded_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[TherapySession] = relationship()


class MeasureForm(Base):
    """A one-time questionnaire form for one session: handed over in the office, or a texted link.

    Only the SHA-256 of the token is stored; the token itself lives in the URL the client
    opens. A form works once (`used_at` is set by the submission): a handover until
    `expires_at`, a texted link until its visit ends, wherever the visit has moved since
    (`expires_at` keeps the end as it was when the link was made).
    A texted link's token is HMAC(secret key, `nonce`), so the text can be worded when it is
    sent while the database alone still cannot open the form (services.measure_forms).
    """

    __tablename__ = "measure_forms"
    __table_args__ = (CheckConstraint("purpose IN ('office', 'link')", name="purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    instruments: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    session: Mapped[TherapySession] = relationship()


class Alert(Base):
    """An urgent clinical alert for the treating therapist, open until acknowledged with a note."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'acknowledged')", name="status"),
        # The banner on every page asks "how many open alerts has this therapist?".
        Index(
            "ix_alerts_open_therapist",
            "therapist_id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # phq9_item9
    level: Mapped[str] = mapped_column(String(10), default="urgent")
    status: Mapped[str] = mapped_column(String(20), default="open")
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"))
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    series: Mapped[Series] = relationship()
    session: Mapped[TherapySession] = relationship()
    measure: Mapped[MeasureResponse] = relationship()
