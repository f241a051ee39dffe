"""What every use case needs besides the database session, built once in `scheduler.wiring`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol

from sqlalchemy.orm import Session

from ..config import Settings
from ..locations import LocationBook

if TYPE_CHECKING:
    from ..db.models import Series, TherapySession

# "reassigned": one session's room or therapist changed, not its time (no notice to the client).
ChangeKind = Literal[
    "booked",
    "rescheduled",
    "reassigned",
    "cancelled",
    "status",
    "renegotiated",
    "series_cancelled",
    "make_up",
]


@dataclass(frozen=True)
class ScheduleChange:
    """A committed-to-be change of the calendar, told to observers inside the same transaction."""

    kind: ChangeKind
    series: Series
    sessions: Sequence[TherapySession]
    actor: str
    now: datetime


class ScheduleObserver(Protocol):
    """Something that must react, in the same transaction, when sessions change."""

    def after_change(self, db: Session, change: ScheduleChange) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServiceContext:
    settings: Settings
    locations: LocationBook
    observers: tuple[ScheduleObserver, ...] = ()
    clock: Callable[[], datetime] = field(default=_utcnow)

    def notify(self, db: Session, change: ScheduleChange) -> None:
        for observer in self.observers:
            observer.after_change(db, change)
