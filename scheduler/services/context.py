"""What every use case needs besides the database session, built once in `scheduler.wiring`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy.orm import Session

from ..config import Settings
from ..locations import Location, LocationBook, Practice

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
    # Where moved sessions started before this change (session id -> instant): a move notice
    # names the old time as well as the new.
    previous: Mapping[int, datetime] = field(default_factory=dict)


class ScheduleObserver(Protocol):
    """Something that must react, in the same transaction, when sessions change."""

    def after_change(self, db: Session, change: ScheduleChange) -> None: ...


class TextsPort(Protocol):
    """What use cases ask of the text pipeline (`scheduler.texts`; connected in `wiring`).

    The pipeline sits above the use cases and observes their changes; these few requests are
    the only way the use cases reach it, so nothing in services imports scheduler.texts.
    """

    def replan_client(self, db: Session, ctx: ServiceContext, client_id: int) -> int:
        """Re-plan every active series of a client (consent or phone changed); rows written."""
        ...

    def suppress_pending(self, db: Session, client_id: int, reason: str) -> int:
        """Stop every not-yet-claimed text to a client (opt-out, withdrawn consent); how many."""
        ...

    def office_phone(self, office: Location) -> str:
        """The office's voice line as people write it, e.g. "(520) 555-0110"."""
        ...

    def help_reply(self, practice: Practice, office: Location, language: str = "en") -> str:
        """The answer to HELP: the practice, the office's phone, and how to opt out."""
        ...

    def reply(self, kind: str, language: str, **values: Any) -> str:
        """A short answer to a client's text ("confirmed", "received"...) in `language`."""
        ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServiceContext:
    settings: Settings
    locations: LocationBook
    texts: TextsPort
    observers: tuple[ScheduleObserver, ...] = ()
    clock: Callable[[], datetime] = field(default=_utcnow)

    def notify(self, db: Session, change: ScheduleChange) -> None:
        for observer in self.observers:
            observer.after_change(db, change)
