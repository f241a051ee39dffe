"""Finding due texts: fairly across offices, by index, and locked without waiting.

Used by `claim.claim_batch` inside its transaction. A claim's statements do not depend on
how many offices are configured, nor on how many texts are due. Usually one statement reads
the head of the queue, every office's oldest pending texts together, and that tells which
offices have waited longest and what each may send. When it cannot tell (a backlog in a few
offices), a second statement hops from office to office through the due index to find those
with anything due, then reads candidates only for those, a few at most per office and only
as many offices as one claim can use (a LATERAL join per office on PostgreSQL, a correlated
IN list on SQLite).
"""

from __future__ import annotations

import math
from collections import defaultdict, namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, or_, select, text
from sqlalchemy.orm import Session

from ..db.models import Client, OutboundMessage, Series, TherapySession
from ..db.sql import one_of
from ..db.types import UTCDateTime
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


def quota(ctx: ServiceContext, office_id: str, limit: int, horizon: float) -> int:
    """How many of an office's texts one claim may take: what its sender can send in `horizon`.

    An office no longer configured gets the whole batch: its texts are only closed, not sent.
    """
    loc = ctx.locations.get(office_id)
    if loc is None:
        return limit
    rate = loc.sms_max_per_second or ctx.settings.sms_max_per_second
    return min(limit, math.ceil(rate * horizon) + 1)


@dataclass
class HeadOrHop:
    """How one dispatcher's recent claims found their candidates, for the next to choose.

    A backlog in a few offices lasts longer than a claim, and while it lasts the head of the
    queue cannot tell (`_from_the_head`): reading it is a wasted statement. So once it could
    not tell, the next `RETRY_HEAD_AFTER` claims go straight to the hop, and then the head
    is tried again. Both ways give the same texts; this only saves the wasted read.
    """

    hops_left: int = 0


RETRY_HEAD_AFTER = 8


def candidates(
    db: Session,
    ctx: ServiceContext,
    now: datetime,
    limit: int,
    horizon: float,
    way: HeadOrHop | None = None,
) -> tuple[list[int], dict[str, int]]:
    """Due ids in a fair order (each office's oldest first, the offices taking turns) and
    the quota of each office among them.

    One office's backlog (say a 1-a-second sender with a thousand texts due) must not starve
    the others, so each office with anything due gets its turn, a few claims' worth each
    (concurrent dispatchers skip each other's locked rows). Within a turn the office whose
    oldest text has waited longest goes first (between texts due at the same instant, the
    older row), so an office left out of one claim leads the next. Plain queries, not
    locking ones: `lock` then locks by id. `way`: the dispatcher's memory of which way of
    finding them answered lately (`HeadOrHop`).
    """
    # `lock` looks at no more than this many ids; with that many offices due, each
    # office's first text alone fills them.
    wanted = limit * CANDIDATE_FACTOR
    conn = db.connection()  # plain rows: nothing here needs the ORM's results
    rows: Sequence[tuple[Any, ...]] | None = None
    if way is not None and way.hops_left > 0:
        way.hops_left -= 1
    else:
        rows = _from_the_head(conn, now, limit, wanted)
        if rows is None and way is not None:
            way.hops_left = RETRY_HEAD_AFTER
    if rows is None:
        postgres = conn.dialect.name == "postgresql"
        query = _postgres_query() if postgres else _sqlite_query()
        params = {"b_now": now, "b_wanted": wanted}
        rows = conn.execute(query, params).tuples().all()
    quotas: dict[str, int] = {}
    turns: dict[str, int] = defaultdict(int)
    keyed = []
    for rank, office_id, message_id in rows:  # (rank, office, id), each office's oldest first
        if office_id not in quotas:
            quotas[office_id] = quota(ctx, office_id, limit, horizon)
        turns[office_id] += 1
        if turns[office_id] <= quotas[office_id] * CANDIDATE_FACTOR:
            keyed.append((turns[office_id], rank, message_id))
    # (turn, office, id): every office's first text, then every office's second, ...
    return [message_id for _, _, message_id in sorted(keyed)], quotas


# How far `_from_the_head` reads into the queue, in claims' worth: as many texts as `lock`
# may look at, so a short queue is read to its end, and one spread over many offices shows
# a claim's worth of them at once; a backlog in a few offices (which the hop answers) wastes
# that read once in a while (`HeadOrHop`).
HEAD_DEPTH = CANDIDATE_FACTOR


def _from_the_head(
    conn: Any, now: datetime, limit: int, wanted: int
) -> list[tuple[int, str, int]] | None:
    """The candidates read from the oldest pending texts of all offices together, or None
    when those cannot tell.

    Read in (send_at, id) order, an office's first row is its oldest pending text, so the
    offices show up in the order of their waiting, and any office not seen waits less than
    every office seen. When the read reached the end of what is due (the usual case: a
    worker that keeps up leaves a short queue), that is `_postgres_query`'s whole answer.
    When it stopped short but shows at least a claim's worth of offices, each with a text it
    may send now, those texts are the first turn of that answer, in its order: all a claim
    takes unless other dispatchers hold some of them (then this claim is shorter, and
    reports the contention). Otherwise (a backlog in a few offices, or an office whose oldest
    is held back for a retry) the offices are found one by one instead. The read costs what a
    claim can use, from the index alone, whatever the number of offices.
    """
    depth = limit * HEAD_DEPTH
    head = conn.execute(_head_query(), {"b_now": now, "b_depth": depth}).tuples().all()
    complete = len(head) < depth
    due: dict[str, list[int]] = {}  # office -> its due ids, oldest first; offices in order
    for message_id, office_id, next_attempt_at in head:
        ids = due.setdefault(office_id, [])
        if next_attempt_at is None or next_attempt_at <= now:
            ids.append(message_id)
    offices = list(due)[:wanted]
    if complete:
        each = wanted - min(len(due), wanted) + 1
    elif len(offices) >= limit and all(due[o] for o in offices):
        each = 1
    else:
        return None
    return [
        (rank, office_id, message_id)
        for rank, office_id in enumerate(offices, start=1)
        for message_id in due[office_id][:each]
    ]


@cache
def _head_query() -> Any:
    """The oldest pending texts of every office, from `ix_outbound_messages_pending_send`."""
    return (
        select(_M.id, _M.office_id, _M.next_attempt_at)
        .where(_M.status == "pending", _M.send_at <= bindparam("b_now"))
        .order_by(_M.send_at, _M.id)
        .limit(bindparam("b_depth"))
    )


@cache
def _postgres_query() -> Any:
    """The candidates on PostgreSQL in one statement, whatever the number of offices, when
    the head of the queue cannot tell (`_from_the_head`).

    `pending` hops from office to office through the due index, one short index probe per
    office with pending texts: the next office and its oldest pending text (ties by id, as
    in `_from_the_head`). (An aggregate
    over the send_at index plans as a bitmap scan here, which visits every index entry left
    by texts sent since the last vacuum, as a bitmap scan never marks them dead: tens of
    milliseconds at 180 offices.) The offices whose oldest is due are ranked, longest
    waiting first; the first `b_wanted` of them each give their oldest due texts, as many as
    could come before `lock` has seen `b_wanted` ids (all of them when few offices have
    texts due; one each when `b_wanted` offices have). An office whose oldest is held back
    for a retry (next_attempt_at) and has nothing else due simply gives no rows.
    """
    return text(
        """
        WITH RECURSIVE pending(office_id, oldest, oldest_id) AS (
            (SELECT office_id, send_at, id FROM outbound_messages
             WHERE status = 'pending' ORDER BY office_id, send_at, id LIMIT 1)
            UNION ALL
            SELECT next.office_id, next.send_at, next.id
            FROM pending AS p
            CROSS JOIN LATERAL (
                SELECT m.office_id, m.send_at, m.id FROM outbound_messages AS m
                WHERE m.status = 'pending' AND m.office_id > p.office_id
                ORDER BY m.office_id, m.send_at, m.id
                LIMIT 1
            ) AS next
        ),
        waiting AS (
            SELECT office_id,
                   row_number() OVER (ORDER BY oldest, oldest_id) AS rank,
                   count(*) OVER () AS offices
            FROM pending
            WHERE oldest <= :b_now
        )
        SELECT w.rank, w.office_id, c.id
        FROM waiting AS w
        CROSS JOIN LATERAL (
            SELECT m.id, m.send_at
            FROM outbound_messages AS m
            WHERE m.office_id = w.office_id
              AND m.status = 'pending'
              AND m.send_at <= :b_now
              AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= :b_now)
            ORDER BY m.send_at, m.id
            LIMIT :b_wanted - least(w.offices, :b_wanted) + 1
        ) AS c
        WHERE w.rank <= :b_wanted
        ORDER BY w.rank, c.send_at, c.id
        """
    )


@cache
def _sqlite_query() -> Any:
    """`_postgres_query` for SQLite, which has no LATERAL: the same hop from office to office
    through the due index (a correlated min() per office, each one index probe), and each
    waiting office's candidates as a correlated IN list read along that index, `LIMIT`ed in
    the database. Its cost is what one claim can use, not the backlog: numbering every due
    text of an office with a window function read all of them (and their rows) at every claim.
    SQLite cannot correlate a LIMIT, so the number of offices waiting is counted by a scalar
    subquery there instead of read from the office's row.
    """
    return text(
        """
        WITH RECURSIVE pending(office_id) AS (
            SELECT min(office_id) FROM outbound_messages WHERE status = 'pending'
            UNION ALL
            SELECT (SELECT min(m.office_id) FROM outbound_messages AS m
                    WHERE m.status = 'pending' AND m.office_id > p.office_id)
            FROM pending AS p
            WHERE p.office_id IS NOT NULL
        ),
        oldest AS (
            SELECT p.office_id,
                   (SELECT min(m.send_at) FROM outbound_messages AS m
                    WHERE m.status = 'pending' AND m.office_id = p.office_id) AS oldest,
                   (SELECT m.id FROM outbound_messages AS m
                    WHERE m.status = 'pending' AND m.office_id = p.office_id
                      AND m.send_at IS NOT NULL
                    ORDER BY m.send_at, m.id LIMIT 1) AS oldest_id
            FROM pending AS p
            WHERE p.office_id IS NOT NULL
        ),
        waiting AS (
            SELECT office_id, row_number() OVER (ORDER BY oldest, oldest_id) AS rank
            FROM oldest
            WHERE oldest <= :b_now
        )
        SELECT w.rank, w.office_id, c.id
        FROM waiting AS w
        JOIN outbound_messages AS c ON c.id IN (
            SELECT m.id
            FROM outbound_messages AS m
            WHERE m.office_id = w.office_id
              AND m.status = 'pending'
              AND m.send_at <= :b_now
              AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= :b_now)
            ORDER BY m.send_at, m.id
            LIMIT :b_wanted - min((SELECT count(*) FROM waiting), :b_wanted) + 1
        )
        WHERE w.rank <= :b_wanted
        ORDER BY w.rank, c.send_at, c.id
        """
    ).bindparams(bindparam("b_now", type_=UTCDateTime()))


# A claim query row: the query's columns by name, as a namedtuple. A Row's attributes are
# found only after Python's own lookup has failed (~0.7 us each), and the claim reads some
# sixty of them per text; a namedtuple's cost a few hundredths of that.
ClaimRow = Any


@cache
def _row_type(keys: tuple[str, ...]) -> Any:
    return namedtuple("ClaimRow", keys)


def lock(
    db: Session, ids: list[int], now: datetime, quotas: dict[str, int], limit: int
) -> tuple[list[ClaimRow], bool]:
    """Lock up to `limit` of `ids` (in that order), at most each office's quota.

    Returns the rows and whether others held every one we tried (worth another go soon).
    """
    chosen: list[ClaimRow] = []
    taken: dict[str, int] = defaultdict(int)
    locked_any = 0
    for tried, start in enumerate(range(0, len(ids), limit), start=1):
        chunk = ids[start : start + limit]
        position = {message_id: n for n, message_id in enumerate(chunk)}
        # The Core connection: plain rows, without the ORM's result machinery.
        conn = db.connection()
        result = conn.execute(claim_query(conn.dialect.name), {"b_ids": chunk, "b_now": now})
        make = _row_type(tuple(result.keys()))._make
        rows = [make(row) for row in result.all()]  # one fetch, not one per row
        locked_any += len(rows)
        for row in sorted(rows, key=lambda r: position[r.id]):
            if len(chosen) < limit and taken[row.office_id] < quotas.get(row.office_id, limit):
                chosen.append(row)
                taken[row.office_id] += 1
        if len(chosen) >= limit or tried >= CANDIDATE_FACTOR:
            break
    return chosen, bool(ids) and not locked_any


@cache
def claim_query(dialect: str) -> Any:
    """The candidates still due and not locked by another dispatcher, with what rendering needs.

    The ids go in as one array on PostgreSQL (`one_of`): a text psycopg keeps and prepares,
    rather than fifty placeholders SQLAlchemy renders and psycopg parses at every claim."""
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
        .where(one_of(dialect, _M.id, "b_ids"), *_due(bindparam("b_now")))
        .with_for_update(of=_M, skip_locked=True)
    )
