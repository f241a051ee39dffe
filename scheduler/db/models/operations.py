"""What operators need to know about the processes themselves: the workers' heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..types import UTCDateTime, utcnow
from .base import Base


class WorkerHeartbeat(Base):
    """One worker process, and when it last started a dispatch batch.

    In the database, not in memory, so that /readyz in any web process (and `ipt-scheduler
    status` anywhere) can tell whether some worker is alive. Rows of workers gone for a day
    are swept by housekeeping.
    """

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
