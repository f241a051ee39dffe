"""IPT series and their sessions."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...domain.phases import course_phase
from ..types import UTCDateTime, utcnow
from .base import Base
from .practice import Client, Office, Therapist

if TYPE_CHECKING:
    from .course import MeasureResponse  # course.py imports this module

SESSION_STATUSES = ("scheduled", "attended", "no_show", "cancelled")


class Series(Base):
    """The treatment contract: one client, one therapist, one office, N weekly sessions."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), index=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    first_session_date: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    session_count: Mapped[int] = mapped_column(Integer)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    problem_area: Mapped[str] = mapped_column(String(40))
    room: Mapped[str | None] = mapped_column(String(60), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | ended
    # acute: the N-session course; maintenance: 1-12 sessions after it, every cadence weeks.
    kind: Mapped[str] = mapped_column(String(20), default="acute", server_default="acute")
    cadence_weeks: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The course a maintenance series continues (same client).
    continues_series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id"), nullable=True, index=True
    )
    # The measure plan: when questionnaires are due (domain.measures) and whether the GAD-7
    # is asked alongside the PHQ-9.
    measure_schedule: Mapped[str] = mapped_column(
        String(20), default="standard", server_default="standard"
    )
    measure_gad7: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(254), nullable=True)

    client: Mapped[Client] = relationship()
    therapist: Mapped[Therapist] = relationship()
    office: Mapped[Office] = relationship()
    sessions: Mapped[list[TherapySession]] = relationship(
        back_populates="series",
        order_by="TherapySession.starts_at",
    )


class TherapySession(Base):
    """One weekly meeting. Stored both as local wall time in the office's zone and as UTC.

    `counts` says whether the meeting uses up one of the contract's N sessions: a meeting the
    practice cancelled does not (a make-up week replaces it); one the client cancelled does,
    unless staff granted a make-up. `number` is the meeting's place among counting sessions.
    """

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_therapist_starts", "therapist_id", "starts_at"),
        Index("ix_sessions_office_starts", "office_id", "starts_at"),
        # The conflict check's time window across therapists, rooms and a client's series
        # (services.availability.busy_calendar): an OR no other index answers.
        Index("ix_sessions_starts_at", "starts_at"),
        # A feed's freshness check asks for the newest updated_at of one owner's sessions on
        # every poll (services.feeds): one seek instead of a scan of the feed's sessions.
        Index("ix_sessions_therapist_updated", "therapist_id", "updated_at"),
        Index("ix_sessions_office_updated", "office_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"))
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"))
    number: Mapped[int] = mapped_column(Integer)
    counts: Mapped[bool] = mapped_column(Boolean, default=True)
    is_make_up: Mapped[bool] = mapped_column(Boolean, default=False)
    local_date: Mapped[date] = mapped_column(Date)
    local_time: Mapped[time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    room: Mapped[str | None] = mapped_column(String(60), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    cancelled_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # A client's cancellation after the start or inside the office's late window: it counts.
    late_cancel: Mapped[bool] = mapped_column(Boolean, default=False)
    # When and by whom attendance (attended, no-show, late cancel) was last recorded; an
    # undo back to scheduled is allowed on that office-local day only.
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    marked_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    weekly_goal: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Bumped on every change a subscriber could see; feeds use it as SEQUENCE.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    series: Mapped[Series] = relationship(back_populates="sessions")
    # Usually the series' therapist; another one when this session is covered.
    therapist: Mapped[Therapist] = relationship()
    # The questionnaires answered for it, read only with a list that marks "measure due"
    # (`queries.sessions_between(measures=True)`); never loaded one session at a time.
    measures: Mapped[list[MeasureResponse]] = relationship(viewonly=True, lazy="raise")

    @property
    def phase(self) -> str:
        # A session cancelled when N was lowered may carry a number above the new N.
        series = self.series
        total = series.session_count
        return course_phase(series.kind, min(self.number, total), total)

    @property
    def active(self) -> bool:
        return self.status != "cancelled"
