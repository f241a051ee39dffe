"""Keeping a sender's planned texts one interval apart (`domain.spreading`), at planning time.

The series' new plans are spread around the office's other pending texts near the same
times, read in one query; the series' own stored rows are left out, since this plan replaces
them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..db.models import OutboundMessage
from ..domain.reminders import PlannedMessage, TextingPolicy
from ..domain.spreading import MAX_SHIFT, bounds, spread
from ..locations import Location

_M = OutboundMessage


def sender_interval(office: Location, default_rate: float) -> timedelta:
    """The time between two texts from the office's number."""
    return timedelta(seconds=1 / (office.sms_max_per_second or default_rate))


def spread_plans(
    db: Session,
    series_id: int,
    office: Location,
    plans: list[PlannedMessage],
    *,
    interval: timedelta,
    now: datetime,
    client_zone: str,
    policy: TextingPolicy,
) -> list[PlannedMessage]:
    """`plans` with send times moved apart where the office's sender would be over its rate."""
    live = [i for i, p in enumerate(plans) if p.send_at is not None]
    if not live:
        return plans
    movables = [
        bounds(
            plans[i].kind,
            plans[i].send_at,  # type: ignore[arg-type]  # live plans have a time
            now=now,
            expires_at=plans[i].expires_at,
            client_zone=client_zone,
            policy=policy,
        )
        for i in live
    ]
    reach = MAX_SHIFT + interval * len(live)
    near = sorted({m.at for m in movables})
    taken = list(
        db.scalars(
            select(_M.send_at).where(
                _M.office_id == office.id,
                _M.status == "pending",
                or_(_M.series_id.is_(None), _M.series_id != series_id),
                or_(*(and_(_M.send_at >= at - reach, _M.send_at <= at + reach) for at in near)),
            )
        )
    )
    times = spread(movables, [t for t in taken if t is not None], interval)
    result = list(plans)
    for i, at in zip(live, times, strict=True):
        if at != plans[i].send_at:
            result[i] = replace(plans[i], send_at=at)
    return result
