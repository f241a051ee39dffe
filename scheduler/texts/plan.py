"""How a series' texts are planned: the desired set, consents, caps, and the row diff.

`sync_series_texts` computes what the series should have planned and brings the stored rows
in line with it, in at most two statements (`rows.RowWrites`).
Used by `scheduler.texts.observer`, which owns the transaction and the locks.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..db.models import Client, OutboundMessage, Series, TherapySession
from ..db.models.messaging import DONE_STATUSES, OPEN_STATUSES
from ..domain.measures import planned_instruments
from ..domain.reminders import (
    PlannedMessage,
    SessionSlot,
    TextingPolicy,
    apply_caps,
    immediate,
    plan_session_messages,
)
from ..domain.texting_policy import texting_policy
from ..locations import Location
from ..services.context import ScheduleChange, ServiceContext
from .notices import SERIES_NOTICE_KINDS, Notice, NoticePlan, plan_notices
from .pacing import sender_interval, spread_plans
from .rows import RowWrites, StoredRow, series_rows

PLANNED_KINDS = ("reminder_24h", "reminder_2h", "goal_prompt", "closing", "measure_link")
# Only the newest of these survives for one session (or, for the series' own notices, for
# one series): a newer one tells what the client needs to know now.
NOTICE_KINDS = ("session_changed", "session_cancelled", *SERIES_NOTICE_KINDS)
# Caps look back this far at what the client already got (a rolling week).
CAP_WINDOW = timedelta(days=7)
# An attended session still gets its follow-ups (goal prompt, closing); the planner only
# knows "scheduled" as a session that happens.
_PLANNING_STATUS = {"attended": "scheduled"}

Key = tuple[int | None, str]  # (session_id, kind)
_M = OutboundMessage


def policy_for(settings: Settings, office: Location, home: Location | None = None) -> TextingPolicy:
    """The domain's texting rules for a client of `office` near `home`, with the settings' caps."""
    return texting_policy(
        office,
        home,
        max_per_day=settings.sms_max_per_client_day,
        max_per_week=settings.sms_max_per_client_week,
    )


@dataclass(frozen=True)
class ClientFacts:
    id: int
    zone: str
    home_office_id: str
    sms_consent: bool
    goal_prompt_consent: bool
    opted_out: bool
    undeliverable: bool
    # (series_id, kind, status, instant) of the client's texts inside the cap window.
    recent: tuple[tuple[int | None, str, str, datetime], ...]


def client_facts(db: Session, client_id: int, now: datetime) -> ClientFacts:
    """The client and their recent and upcoming texts, in one query."""
    since = now - CAP_WINDOW
    recent = and_(
        _M.client_id == Client.id,
        _M.status.in_(("pending", *DONE_STATUSES)),
        or_(_M.sent_at >= since, and_(_M.sent_at.is_(None), _M.send_at >= since)),
    )
    rows = db.execute(
        select(
            Client.id,
            Client.timezone,
            Client.home_office_id,
            Client.sms_consent,
            Client.goal_prompt_consent,
            Client.opted_out_at,
            Client.phone_undeliverable_at,
            _M.series_id,
            _M.kind,
            _M.status,
            _M.send_at,
            _M.sent_at,
        )
        .outerjoin(_M, recent)
        .where(Client.id == client_id)
    ).all()
    first = rows[0]
    texts = tuple(
        (r.series_id, r.kind, r.status, r.sent_at or r.send_at)
        for r in rows
        if r.kind is not None and (r.sent_at or r.send_at) is not None
    )
    return ClientFacts(
        id=first.id,
        zone=first.timezone,
        home_office_id=first.home_office_id,
        sms_consent=bool(first.sms_consent),
        goal_prompt_consent=bool(first.goal_prompt_consent),
        opted_out=first.opted_out_at is not None,
        undeliverable=first.phone_undeliverable_at is not None,
        recent=texts,
    )


def desired_plans(
    sessions: Sequence[TherapySession],
    session_count: int,
    *,
    client_zone: str,
    policy: TextingPolicy,
    now: datetime,
    with_link: Collection[int] = (),
) -> dict[Key, PlannedMessage]:
    """What the series should have planned, before consents and caps.

    `with_link`: the sessions whose measure plan asks for a questionnaire (a link text).
    """
    ordered = sorted(sessions, key=lambda s: s.starts_at)
    active = [s for s in ordered if s.status != "cancelled"]
    following = {a.id: b.starts_at for a, b in itertools.pairwise(active)}
    plans: dict[Key, PlannedMessage] = {}
    for s in ordered:
        slot = SessionSlot(
            session_id=s.id,
            number=s.number,
            session_count=session_count,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            status=_PLANNING_STATUS.get(s.status, s.status),
        )
        for p in plan_session_messages(
            slot,
            client_zone=client_zone,
            policy=policy,
            now=now,
            is_last=bool(active) and s is active[-1],
            goal_prompts=True,  # consent is applied afterwards, so the reason is recorded
            next_starts_at=following.get(s.id),
            measure_link=s.id in with_link,
        ):
            plans[(s.id, p.kind)] = p
    return plans


def questionnaire_sessions(series: Series) -> set[int]:
    """Sessions at which the measure plan asks for a questionnaire (answered or not: a link
    whose questionnaire is in by send time is stopped then)."""
    return {
        s.id
        for s in series.sessions
        if s.counts
        and planned_instruments(
            series.measure_schedule,  # type: ignore[arg-type]  # validated when stored
            series.measure_gad7,
            s.number,
            series.session_count,
        )
    }


def gate(plan: PlannedMessage, client: ClientFacts) -> PlannedMessage:
    """Suppress what the client has not agreed to receive, naming why."""
    reason = None
    if not client.sms_consent:
        reason = "no sms_reminders consent"
    elif client.opted_out:
        reason = "client opted out"
    elif client.undeliverable:
        reason = "phone number undeliverable"
    elif plan.kind == "goal_prompt" and not client.goal_prompt_consent:
        reason = "no goal_prompts consent"
    if reason is None:
        return plan
    return replace(plan, send_at=None, suppressed_reason=reason)


def sync_series_texts(
    db: Session,
    ctx: ServiceContext,
    series: Series,
    now: datetime,
    *,
    change: ScheduleChange | None,
    fresh: bool,
) -> int:
    """Bring the series' stored texts in line with what it should have planned, and add the
    notices `change` calls for; rows written."""
    office = ctx.locations.get(series.office_id)
    if office is None:  # the office left locations.yaml; its sessions are read-only now
        return 0
    client = client_facts(db, series.client_id, now)
    policy = policy_for(ctx.settings, office, ctx.locations.get(client.home_office_id))
    rows = [] if fresh else series_rows(db, series.id)
    told = plan_notices(ctx, change, rows) if change is not None else NoticePlan()
    notices = told.add
    sessions = {s.id: s for s in series.sessions}
    desired = desired_plans(
        list(sessions.values()),
        series.session_count,
        client_zone=client.zone,
        policy=policy,
        now=now,
        with_link=questionnaire_sessions(series),
    )

    def session_of(key: Key) -> TherapySession:
        assert key[0] is not None  # planned kinds always belong to a session
        return sessions[key[0]]

    by_key: dict[Key, list[StoredRow]] = defaultdict(list)
    for row in rows:
        by_key[(row.session_id, row.kind)].append(row)
    covered = {
        key
        for key in desired
        if any(
            r.status in DONE_STATUSES and r.session_starts_at == session_of(key).starts_at
            for r in by_key.get(key, ())
        )
    }
    wanted_keys = [k for k in desired if k not in covered]
    new_notices = [
        immediate(
            n.kind,  # type: ignore[arg-type]  # notices are MessageKinds by construction
            n.session.id,
            now=now,
            client_zone=client.zone,
            policy=policy,
            starts_at=None if n.kind in SERIES_NOTICE_KINDS else n.session.starts_at,
        )
        for n in notices
    ]
    capped = apply_caps(
        [gate(desired[k], client) for k in wanted_keys] + [gate(n, client) for n in new_notices],
        already_sent=[
            instant
            for series_id, kind, status, instant in client.recent
            if not (series_id == series.id and kind in PLANNED_KINDS and status == "pending")
        ],
        client_zone=client.zone,
        policy=policy,
    )
    capped = spread_plans(
        db,
        series.id,
        office,
        capped,
        interval=sender_interval(office, ctx.settings.sms_max_per_second),
        now=now,
        client_zone=client.zone,
        policy=policy,
    )
    plans = dict(zip(wanted_keys, capped, strict=False))

    writes = RowWrites(series, now)
    for key, row_list in by_key.items():
        if key[1] not in PLANNED_KINDS:
            continue
        open_rows = [r for r in row_list if r.status in OPEN_STATUSES]
        for extra in open_rows[1:]:
            writes.cancel(extra, "replaced by a newer plan")
        keep = open_rows[0] if open_rows else None
        if keep is None:
            continue
        if key in covered:
            writes.cancel(keep, "already sent")
        elif key not in plans:
            writes.cancel(keep, "no longer planned")
        else:
            writes.change(keep, plans[key], session_of(key))
    for key, plan in plans.items():
        if any(r.status in OPEN_STATUSES for r in by_key.get(key, ())):
            continue
        session = session_of(key)
        if plan.suppressed and session.starts_at <= now:
            continue  # no new history rows about the past
        writes.add(plan, session)

    _supersede_notices(writes, rows, notices, series)
    stored = {r.id: r for r in rows}
    for row_id, facts in told.refresh.items():
        writes.refresh_facts(stored[row_id], facts)
    for row_id, reason in told.cancel.items():
        writes.cancel(stored[row_id], reason)
    for plan, notice in zip(capped[len(wanted_keys) :], notices, strict=True):
        writes.add(plan, notice.session, notice.facts)
    return writes.flush(db, client.id)


def _supersede_notices(
    writes: RowWrites,
    rows: list[StoredRow],
    notices: list[Notice],
    series: Series,
) -> None:
    """Cancel open notices that a newer one (or the end of the series) makes redundant."""
    noticed = {n.session.id for n in notices if n.kind not in SERIES_NOTICE_KINDS}
    series_noticed = {n.kind for n in notices if n.kind in SERIES_NOTICE_KINDS}
    newest: dict[int | None, StoredRow] = {}
    for row in rows:
        if row.status not in OPEN_STATUSES:
            continue
        if row.kind in NOTICE_KINDS:
            # The rest of the series cancelled says all there is to say; a new N replaces
            # the last one not yet sent.
            if "series_cancelled" in series_noticed or row.kind in series_noticed:
                writes.cancel(row, "replaced by a newer notice")
                continue
            if row.kind in SERIES_NOTICE_KINDS:
                continue
            if row.session_id in noticed:
                writes.cancel(row, "replaced by a newer notice")
                continue
            older = newest.get(row.session_id)
            if older is not None:
                writes.cancel(older, "replaced by a newer notice")
            newest[row.session_id] = row
        elif row.kind == "booking_confirmation" and series.status != "active":
            writes.cancel(row, "the series has ended")
