"""The send-time check: which claimed texts may still go out, under the locks that matter.

Runs first in the send transaction (`send.Dispatcher._send_cluster`), which then sends and
records while these locks are held: a session change waits for the sends, or, if it came
first, makes the check fail, so a stale text never leaves; and only the worker holding the
claim may send a row.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from ..db.models import Client, OutboundMessage, TherapySession
from ..db.sql import one_of
from .claim import BEFORE_START_KINDS, Claimed

_M = OutboundMessage


def split(
    db: Session, cluster: list[Claimed], now: datetime, worker: str
) -> tuple[list[Claimed], list[Claimed], list[tuple[Claimed, str]]]:
    """Split the cluster into (send, give back, suppress), holding the locks that matter."""
    session_ids = sorted({c.session_id for c in cluster if c.session_id is not None})
    # Plain column rows: the session's Core connection skips the ORM's result machinery.
    conn = db.connection()
    current: dict[int, tuple[int, datetime]] = {}
    if session_ids:
        # Sessions first and without waiting: a session being changed right now is
        # skipped (its texts go back to the queue), so a dispatcher never waits on the
        # front desk, and the desk waits at most for these sends.
        current = {
            session_id: (revision, starts_at)
            for session_id, revision, starts_at in conn.execute(
                _sessions_query(conn.dialect.name), {"b_ids": session_ids}
            ).all()
        }
    params = {"b_ids": [c.id for c in cluster], "b_worker": worker}
    mine = dict(conn.execute(_mine_query(conn.dialect.name), params).tuples().all())
    send: list[Claimed] = []
    give_back: list[Claimed] = []
    suppress: list[tuple[Claimed, str]] = []
    for c in cluster:
        if c.id not in mine:
            continue  # no longer ours (taken over after a long stall): leave it alone
        if mine[c.id] is not None:
            suppress.append((c, "client opted out"))
            continue
        if c.expires_at is not None and now >= c.expires_at:
            suppress.append((c, "expired before it could be sent"))
            continue
        if c.in_quiet_hours(now):
            give_back.append(c)  # quiet hours began since the claim: the claim defers it
            continue
        if c.session_id is not None:
            session = current.get(c.session_id)
            if session is None or session[0] != c.revision:
                give_back.append(c)  # the session is changing or changed: re-render
                continue
            if c.kind in BEFORE_START_KINDS and now >= session[1]:
                suppress.append((c, "the session has started"))
                continue
        send.append(c)
    return send, give_back, suppress


# Both statements are built once per dialect: every cluster runs them, with only the ids (and
# the worker) bound anew; on PostgreSQL the ids as one array (`one_of`), so the statement's
# text never changes and psycopg prepares it.


@cache
def _sessions_query(dialect: str) -> Select[Any]:
    s = TherapySession
    return (
        select(s.id, s.revision, s.starts_at)
        .where(one_of(dialect, s.id, "b_ids"))
        .with_for_update(read=True, skip_locked=True)
    )


@cache
def _mine_query(dialect: str) -> Select[Any]:
    return (
        select(_M.id, Client.opted_out_at)
        .join(Client, Client.id == _M.client_id)
        .where(
            one_of(dialect, _M.id, "b_ids"),
            _M.status == "sending",
            _M.claimed_by == bindparam("b_worker"),
        )
        # Waiting here is brief and cannot deadlock: besides us, only another dispatcher's
        # claim query can hold these rows (PostgreSQL keeps a lock on rows it re-checked and
        # passed over), and it waits on nothing of ours.
        .with_for_update(of=_M)
    )
