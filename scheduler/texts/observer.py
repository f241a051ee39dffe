"""The pipeline's face towards the use cases: planning texts inside the change that causes them.

A series' reminders, goal prompts and closing text are a function of its sessions, the
client's consents and zone, the office's rules and the time: `plan.sync_series_texts` computes
that function and brings the stored rows in line with it (insert what is missing, move what
changed, cancel what is no longer wanted), so re-planning is idempotent and any change can
simply re-plan the whole series. Notices (booking confirmation, change, cancellation) are
events, not state: they are added by the change that causes them, with the facts they tell
(`notices`).

Rows already out of our hands ("sending", "sent", "delivered") are never modified here. A
sent reminder keeps covering its session while the session keeps the start it was sent for.

`TextPipeline` is what `scheduler.wiring` connects: the ScheduleObserver told of every calendar
change, and the `TextsPort` through which use cases (consent, inbound) reach the pipeline
without importing it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..config import Settings
from ..db.models import OutboundMessage, Series
from ..db.types import utcnow
from ..locations import Location, LocationBook, Practice
from ..services.context import ScheduleChange, ServiceContext
from . import localized, wording
from .plan import sync_series_texts

_M = OutboundMessage


class TextPipeline:
    """Plans texts for every booking and change, and answers the use cases' requests."""

    def __init__(self, settings: Settings, locations: LocationBook) -> None:
        self.settings = settings
        self.locations = locations

    # ScheduleObserver
    def after_change(self, db: Session, change: ScheduleChange) -> None:
        ctx = ServiceContext(self.settings, self.locations, self, clock=lambda: change.now)
        plan_for_change(db, ctx, change)

    # TextsPort
    def replan_client(self, db: Session, ctx: ServiceContext, client_id: int) -> int:
        return replan_client(db, ctx, client_id)

    def suppress_pending(self, db: Session, client_id: int, reason: str) -> int:
        return suppress_pending_for_client(db, client_id, reason)

    def office_phone(self, office: Location) -> str:
        return wording.office_phone(office)

    def help_reply(self, practice: Practice, office: Location, language: str = "en") -> str:
        return wording.help_reply(practice, office, language)

    def reply(self, kind: str, language: str, **values: Any) -> str:
        return localized.reply(kind, language, **values)


def plan_for_change(db: Session, ctx: ServiceContext, change: ScheduleChange) -> int:
    """Re-plan the changed series and add the notice the change calls for; rows written."""
    series = change.series
    booked = change.kind == "booked"
    if not booked:  # a new series is invisible to everyone else until commit
        _lock_series(db, series.id)
    return sync_series_texts(db, ctx, series, change.now, change=change, fresh=booked)


def replan_series(db: Session, ctx: ServiceContext, series_id: int) -> int:
    """Bring one series' planned texts in line with its sessions now; rows written."""
    _lock_series(db, series_id)
    series = db.execute(
        select(Series)
        .where(Series.id == series_id)
        .options(selectinload(Series.sessions))
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if series is None:
        return 0
    return sync_series_texts(db, ctx, series, ctx.clock(), change=None, fresh=False)


def replan_client(db: Session, ctx: ServiceContext, client_id: int) -> int:
    """Re-plan every active series of a client (after a consent or phone change); rows written."""
    ids = db.scalars(
        select(Series.id)
        .where(Series.client_id == client_id, Series.status == "active")
        .order_by(Series.id)
    ).all()
    return sum(replan_series(db, ctx, series_id) for series_id in ids)


def suppress_pending_for_client(db: Session, client_id: int, reason: str) -> int:
    """Stop every not-yet-claimed text to a client (opt-out, withdrawn consent); how many."""
    result = db.execute(
        update(_M)
        .where(_M.client_id == client_id, _M.status == "pending")
        .values(status="suppressed", reason=reason[:200], updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- the plan -----------------------------------------------------------------------------


def _lock_series(db: Session, series_id: int) -> None:
    # Every planner of a series (web change or worker re-plan) takes this lock before it
    # touches the series' message rows, so two planners never interleave their writes.
    db.execute(select(Series.id).where(Series.id == series_id).with_for_update())
