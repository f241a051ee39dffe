"""Finding due texts: fairly across offices, by index, and locked without waiting.

Used by `claim.claim_batch` inside its transaction.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session

from ..db.models import Client, OutboundMessage, Series, TherapySession
from ..services.context import ServiceContext

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
    """Due ids in a fair order: each office's oldest first, the offices taking turns.

    One office's backlog (say a 1-a-second sender with a thousand texts due) must not starve
    the others, so each office is read separately, by index, in one UNION ALL statement, a
    few claims' worth each (concurrent dispatchers skip each other's locked rows). A plain
    query, not a locking one: the planner keeps it an index scan per office whatever its
    statistics say; `lock` then locks by id, a batch at a time.
    """
    rows = db.execute(candidate_query(quotas, limit), {"b_now": now}).all()
    # (turn, office, id): every office's first text, then every office's second, ...
    return [message_id for _, _, message_id in sorted((r.turn, r.office_id, r.id) for r in rows)]


def lock(
    db: Session, ids: list[int], now: datetime, quotas: dict[str, int], limit: int
) -> tuple[list[Row[Any]], bool]:
    """Lock up to `limit` of `ids` (in that order), at most each office's quota.

    Returns the rows and whether others held every one we tried (worth another go soon).
    """
    chosen: list[Row[Any]] = []
    taken: dict[str, int] = defaultdict(int)
    locked_any = 0
    for tried, start in enumerate(range(0, len(ids), limit), start=1):
        chunk = ids[start : start + limit]
        position = {message_id: n for n, message_id in enumerate(chunk)}
        rows = db.execute(claim_query(), {"b_ids": chunk, "b_now": now}).all()
        locked_any += len(rows)
        for row in sorted(rows, key=lambda r: position[r.id]):
            if len(chosen) < limit and taken[row.office_id] < quotas.get(row.office_id, limit):
                chosen.append(row)
                taken[row.office_id] += 1
        if len(chosen) >= limit or tried >= CANDIDATE_FACTOR:
            break
    return chosen, bool(ids) and not locked_any


@cache
def candidate_query(quotas: tuple[tuple[str, int], ...], limit: int) -> Any:
    now: Any = bindparam("b_now")
    branches = [
        _oldest(_M.office_id == office_id, now, quota * CANDIDATE_FACTOR)
        for office_id, quota in quotas
    ]
    # Texts of an office no longer configured are claimed too, to be closed with a reason.
    branches.append(_oldest(_M.office_id.not_in([o for o, _ in quotas]), now, limit))
    return union_all(*(select(b.c.id, b.c.office_id, b.c.turn) for b in branches))


def _oldest(which: Any, now: Any, count: int) -> Any:
    """The `count` oldest due texts matching `which`, numbered by age (an index scan)."""
    oldest = (
        select(_M.id, _M.office_id, _M.send_at)
        .where(which, *_due(now))
        .order_by(_M.send_at, _M.id)
        .limit(count)
        .subquery()
    )
    # Numbered over the few rows kept, not the table: the plan stays a short index scan.
    turn = func.row_number().over(order_by=(oldest.c.send_at, oldest.c.id)).label("turn")
    return select(oldest.c.id, oldest.c.office_id, turn).subquery()


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
            _M.facts,
            _M.attempts,
            _M.send_at,
            Client.first_name,
            Client.phone,
            Client.timezone,
            Client.language,
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
            se.kind.label("series_kind"),
            se.cadence_weeks,
        )
        .join(Client, Client.id == _M.client_id)
        .outerjoin(s, s.id == _M.session_id)
        .outerjoin(se, se.id == _M.series_id)
        # The due conditions again: PostgreSQL re-checks them on a row another claim changed.
        .where(_M.id.in_(bindparam("b_ids", expanding=True)), *_due(bindparam("b_now")))
        .with_for_update(of=_M, skip_locked=True)
    )
