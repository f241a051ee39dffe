"""Each office number's shared send clock: slots for claimed texts, and holding off after a 429.

Every dispatcher reserves its texts' send times from the sender's row (locked, in a fixed
order), so however many dispatchers run, an office's number never goes faster than its rate.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..db.models import SmsSender
from ..locations import Location
from ..services.context import ServiceContext
from .updates import Along, unnest_update


def reserve_slots(
    db: Session,
    ctx: ServiceContext,
    wanted: list[tuple[int, Location]],
    real_now: datetime,
    horizon: float,
    known_senders: set[str],
) -> tuple[dict[int, datetime], dict[str, datetime]]:
    """Give each text a send time on its sender's clock, at most `horizon` seconds ahead.

    Returns the slots and the senders' clocks moved past them, which the claim stores with
    its texts (`advance`; the senders' rows stay locked until then).
    """
    if not wanted:
        return {}, {}
    rates = {
        o.sms_number: o.sms_max_per_second or ctx.settings.sms_max_per_second for _, o in wanted
    }
    senders = sorted(rates)
    if not known_senders.issuperset(senders):
        _ensure_senders(db, senders, real_now)
        known_senders.update(senders)
    # Locked in a fixed order, so two dispatchers never wait on each other in a cycle.
    clocks: dict[str, datetime] = dict(
        db.connection().execute(_clocks_query(), {"b_senders": senders}).tuples().all()
    )
    limit = real_now + timedelta(seconds=horizon)
    slots: dict[int, datetime] = {}
    for message_id, office in wanted:
        key = office.sms_number
        slot = max(real_now, clocks[key])
        if slot > limit:
            continue
        slots[message_id] = slot
        clocks[key] = slot + timedelta(seconds=1 / rates[key])
    return slots, clocks


_SENDERS = cast(Table, SmsSender.__table__)


@cache
def _clocks_query() -> Any:
    """The senders' clocks, locked (built once: every claim runs it)."""
    return (
        select(_SENDERS.c.sender, _SENDERS.c.next_slot_at)
        .where(_SENDERS.c.sender.in_(bindparam("b_senders", expanding=True)))
        .order_by(_SENDERS.c.sender)
        .with_for_update()
    )


_ADVANCE: dict[str, Any] = {"next_slot_at": bindparam("b_next")}


@cache
def _advance_clock() -> Any:
    return update(_SENDERS).where(_SENDERS.c.sender == bindparam("b_sender")).values(**_ADVANCE)


@cache
def _advance_clocks(keys: tuple[str, ...]) -> Any:
    return unnest_update(_SENDERS, "sender", {}, _ADVANCE, keys)


def slow_senders(db: Session, until: dict[str, datetime]) -> None:
    """Move each sender's clock to at least `until` (the provider said 429: Retry-After).

    Every dispatcher reserves its slots from this clock, so all of them hold off, not just
    the one that was told.
    """
    for sender in sorted(until):  # the claim's lock order
        db.execute(
            update(_SENDERS)
            .where(_SENDERS.c.sender == sender, _SENDERS.c.next_slot_at < until[sender])
            .values(next_slot_at=until[sender])
        )


def _ensure_senders(db: Session, senders: list[str], real_now: datetime) -> None:
    values = [{"sender": s, "next_slot_at": real_now} for s in senders]
    dialect = db.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.execute(insert(SmsSender).values(values).on_conflict_do_nothing(index_elements=["sender"]))


def advance(clocks: dict[str, datetime]) -> Along:
    """The senders' clocks moved past their new slots, written with the claims' UPDATE."""
    rows = [{"b_sender": k, "b_next": v} for k, v in clocks.items()]
    return Along(_advance_clock(), _advance_clocks, rows)
