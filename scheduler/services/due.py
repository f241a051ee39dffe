"""Finding due texts: fairly across offices, by index, and locked without waiting.

Used by `claiming.claim_batch` inside its transaction.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, bindparam, or_, select, union_all
from sqlalchemy.orm import Session

from ..db.models import Client, OutboundMessage, Series, TherapySession
from .context import ServiceContext

_M = OutboundMessage

# Candidates per office: a few claims' worth, so concurrent dispatchers skipping each
# other's locked rows still find enough.
CANDIDATE_FACTOR = 4


def _due(now: Any) -> tuple[Any, ...]:
    return (
        _M.status == "pending",
        _M.send_at <= now,
        or_(_M.next_attempt_at.is_(None), _M.next_attempt_at <= now),
    )


def quotas(ctx: ServiceContext, limit: int, horizon: float) -> tuple[tuple[str, int], ...]:
    """Per office, how many texts one claim may take: what its sender can send in `horizon`."""
    quotas = []
    for loc in ctx.locations.locations:
        rate = loc.sms_max_per_second or ctx.settings.sms_max_per_second
        quotas.append((loc.id, min(limit, math.ceil(rate * horizon) + 1)))
    return tuple(quotas)


def candidates(
    db: Session, quotas: tuple[tuple[str, int], ...], now: datetime, limit: int
) -> list[int]:
    """Due ids, a few claims' worth per office (so concurrent dispatchers find enough).

    One office's backlog (say a 1-a-second sender with a thousand texts due) must not starve
    the others, so each office is read separately, by index, in one UNION ALL statement. A
    plain query, not a locking one: the planner keeps it an index scan per office whatever
    its statistics say, and the rows are locked by id afterwards.
    """
    return list(db.scalars(candidate_query(quotas, limit), {"b_now": now}))


def fair_share(rows: list[Row[Any]], quotas: dict[str, int], limit: int) -> list[Row[Any]]:
    """At most each office's quota, oldest first, taking the offices in turn up to `limit`."""
    by_office: dict[str, list[Row[Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.send_at, r.id)):
        by_office[row.office_id].append(row)
    ranked = [
        (rank, row.send_at, row.id, row)
        for office_id, queue in by_office.items()
        for rank, row in enumerate(queue[: quotas.get(office_id, limit)])
    ]
    return [row for *_, row in sorted(ranked, key=lambda t: t[:3])[:limit]]


@cache
def candidate_query(quotas: tuple[tuple[str, int], ...], limit: int) -> Any:
    now: Any = bindparam("b_now")
    branches = [
        select(_M.id, _M.send_at)
        .where(_M.office_id == office_id, *_due(now))
        .order_by(_M.send_at, _M.id)
        .limit(quota * CANDIDATE_FACTOR)
        .subquery()
        for office_id, quota in quotas
    ]
    # Texts of an office no longer configured are claimed too, to be closed with a reason.
    branches.append(
        select(_M.id, _M.send_at)
        .where(_M.office_id.not_in([o for o, _ in quotas]), *_due(now))
        .order_by(_M.send_at, _M.id)
        .limit(limit)
        .subquery()
    )
    return union_all(*(select(b.c.id) for b in branches))


@cache
def claim_query() -> Any:
    """The candidates still due and not locked by another dispatcher, with what rendering needs."""
    s, se = TherapySession, Series
    return (
        select(
            _M.id,
            _M.kind,
            _M.client_id,
            _M.session_id,
            _M.series_id,
            _M.office_id,
            _M.expires_at,
            _M.session_starts_at,
            _M.body,
            _M.attempts,
            _M.send_at,
            Client.first_name,
            Client.phone,
            Client.timezone,
            Client.home_office_id,
            Client.sms_consent,
            Client.goal_prompt_consent,
            Client.goal_detail_consent,
            Client.opted_out_at,
            Client.phone_undeliverable_at,
            s.number,
            s.starts_at,
            s.status.label("session_status"),
            s.revision,
            s.weekly_goal,
            se.session_count,
            se.problem_area,
        )
        .join(Client, Client.id == _M.client_id)
        .outerjoin(s, s.id == _M.session_id)
        .outerjoin(se, se.id == _M.series_id)
        # The due conditions again: PostgreSQL re-checks them on a row another claim changed.
        .where(_M.id.in_(bindparam("b_ids", expanding=True)), *_due(bindparam("b_now")))
        .with_for_update(of=_M, skip_locked=True)
    )
