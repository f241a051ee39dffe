"""Claiming due texts: the send-time checks, rendering, and each sender's rate-limit slots.

One claim is one short transaction. Due rows are locked with FOR UPDATE SKIP LOCKED
(PostgreSQL; SQLite has one writer at a time), checked against the current session, client
and clock, rendered, given a send slot on their sender's shared clock, and marked "sending"
with the exact body and number, so that a crash after sending can be reconciled by asking
the provider for that body.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..db.models import OutboundMessage
from ..db.types import utcnow
from ..domain.reminders import TextingPolicy, is_allowed, next_allowed_at_or_after
from ..locations import Location
from ..services.context import ServiceContext
from . import due, links, senders
from .due import ClaimRow
from .plan import policy_for
from .updates import updates_by_name
from .wording import TextFacts, choose_prompt, render

_M = OutboundMessage
# Texts about an upcoming session: pointless, or wrong, once it has begun.
BEFORE_START_KINDS = (
    "reminder_24h",
    "reminder_2h",
    "measure_link",
    "session_changed",
    "session_cancelled",
)
# ... and those of them that only make sense while the session is still going ahead.
SCHEDULED_ONLY_KINDS = ("reminder_24h", "reminder_2h", "measure_link", "session_changed")
# Follow-ups are about a session that happened.
FOLLOW_UP_KINDS = ("goal_prompt", "closing")
TIMED_KINDS = ("reminder_24h", "reminder_2h", "goal_prompt", "closing", "measure_link")


@dataclass(frozen=True)
class Claimed:
    """A text this dispatcher now owns, ready to go out at `slot`."""

    id: int
    client_id: int
    series_id: int | None
    session_id: int | None
    kind: str
    to: str
    body: str
    sender: str
    from_number: str | None
    slot: datetime
    interval: float  # seconds between two sends from this sender
    revision: int | None
    starts_at: datetime | None
    expires_at: datetime | None
    attempts: int
    # The client's zone and texting window, checked again at send time (None: no window).
    timezone: str = "UTC"
    window: TextingPolicy | None = None
    office_id: str = ""  # for metrics: texts are counted by office

    def in_quiet_hours(self, now: datetime) -> bool:
        return self.window is not None and not is_allowed(now, self.timezone, self.window)


@dataclass
class ClaimResult:
    claimed: list[Claimed] = field(default_factory=list)
    # Series whose rows no longer match their sessions' times: re-plan before sending.
    replan: set[int] = field(default_factory=set)
    suppressed: int = 0
    deferred: int = 0
    seen: int = 0
    contended: bool = False


def claim_batch(
    db: Session,
    ctx: ServiceContext,
    *,
    worker: str,
    limit: int,
    horizon: float,
    known_senders: set[str],
    way: due.HeadOrHop | None = None,
) -> ClaimResult:
    """Claim up to `limit` due texts whose send slot falls within `horizon` seconds.

    `known_senders` and `way` are the dispatcher's memory from one claim to the next: the
    senders whose rows exist, and how candidates were found lately (`due.HeadOrHop`)."""
    now = ctx.clock()
    real_now = utcnow()  # slots pace real sends, whatever clock the planner is given
    ids, quotas = due.candidates(db, ctx, now, limit, horizon, way)
    rows, contended = due.lock(db, ids, now, quotas, limit)
    result = ClaimResult(seen=len(rows), contended=contended)
    if not rows:
        return result
    updates: dict[str, list[dict[str, Any]]] = defaultdict(list)
    ready: list[tuple[ClaimRow, Location, str, TextingPolicy | None]] = []
    used = _used_prompts(db, [r.series_id for r in rows if r.kind == "goal_prompt"])
    # Each text's hours, computed once per office and home office in the batch.
    policies: dict[tuple[str, str | None], TextingPolicy] = {}
    checked = []
    for row in rows:
        office = ctx.locations.get(row.office_id)
        checked.append((row, office, _window(ctx, row, office, policies)))
    verdicts = [_check(row, window, now) for row, _, window in checked]
    # A questionnaire link gets its one-time form now, and only if one is still due.
    link_for = links.issue(
        db,
        ctx,
        [
            row.session_id
            for (row, office, _), verdict in zip(checked, verdicts, strict=True)
            if row.kind == "measure_link" and verdict is None and office is not None
        ],
    )
    for (row, office, window), verdict in zip(checked, verdicts, strict=True):
        if verdict is None and row.kind == "measure_link" and link_for.get(row.session_id) is None:
            verdict = "no questionnaire is due any more"
        if verdict == "replan":
            assert row.series_id is not None
            result.replan.add(row.series_id)
            continue
        if isinstance(verdict, datetime):
            updates["defer"].append({"b_id": row.id, "b_next": verdict})
            result.deferred += 1
            continue
        if verdict is not None or office is None:
            reason = verdict or "office no longer configured"
            updates["suppress"].append({"b_id": row.id, "b_reason": reason})
            result.suppressed += 1
            continue
        try:
            body, prompt_id = _render(ctx, row, office, used, link_for.get(row.session_id))
        except Exception as exc:  # a text we cannot word must not block the queue
            updates["fail"].append({"b_id": row.id, "b_error": f"could not render: {exc}"[:500]})
            continue
        ready.append((row, office, body, window))
        updates["_bodies"].append({"b_id": row.id, "body": body, "prompt_id": prompt_id})

    slots, clocks = senders.reserve_slots(
        db, ctx, [(r.id, o) for r, o, _, _ in ready], real_now, horizon, known_senders
    )
    bodies = {u["b_id"]: u for u in updates.pop("_bodies", [])}
    for row, office, body, window in ready:
        slot = slots.get(row.id)
        if slot is None:
            continue  # beyond this claim's horizon: stays pending for the next one
        updates["claim"].append(
            {
                "b_id": row.id,
                "b_body": body,
                "b_to": row.phone,
                "b_revision": row.revision,
                "b_prompt": bodies[row.id]["prompt_id"],
                "b_attempts": row.attempts + 1,
            }
        )
        result.claimed.append(
            Claimed(
                id=row.id,
                client_id=row.client_id,
                series_id=row.series_id,
                session_id=row.session_id,
                kind=row.kind,
                to=row.phone,
                body=body,
                sender=office.sms_number,
                from_number=None
                if ctx.settings.twilio_messaging_service_sid
                else office.sms_number,
                slot=slot,
                interval=1 / (office.sms_max_per_second or ctx.settings.sms_max_per_second),
                revision=row.revision,
                starts_at=row.starts_at,
                expires_at=row.expires_at,
                attempts=row.attempts + 1,
                timezone=row.timezone,
                window=window,
                office_id=office.id,
            )
        )
    _write(db, updates, worker, real_now, clocks)
    return result


def _check(row: ClaimRow, policy: TextingPolicy | None, now: datetime) -> str | datetime | None:
    """None to send now; a reason to suppress; a later instant to wait for; or "replan".

    `policy`: the text's hours (`_window`)."""
    if row.expires_at is not None and now >= row.expires_at:
        return "expired before it could be sent"
    if row.opted_out_at is not None:
        return "client opted out"
    if row.phone_undeliverable_at is not None:
        return "phone number undeliverable"
    # HELP must be answered, at once and to anyone. A staff reply from the inbox is a text
    # like any other: it needs consent and waits out the client's quiet hours.
    if row.kind == "help":
        return None
    if not row.sms_consent:
        return "no sms_reminders consent"
    if row.kind == "goal_prompt" and not row.goal_prompt_consent:
        return "no goal_prompts consent"
    if row.session_id is not None:
        if row.kind in TIMED_KINDS and row.session_starts_at != row.starts_at:
            return "replan"  # the session moved after planning; its timing is stale
        if row.kind in BEFORE_START_KINDS and now >= row.starts_at:
            return "the session has started"
        if row.kind in SCHEDULED_ONLY_KINDS and row.session_status != "scheduled":
            return f"session is {row.session_status}"
        if row.kind in FOLLOW_UP_KINDS and row.session_status not in ("scheduled", "attended"):
            return f"session is {row.session_status}"
    if policy is None or is_allowed(now, row.timezone, policy):
        return None
    later = next_allowed_at_or_after(now, row.timezone, policy)
    if row.expires_at is not None and later >= row.expires_at:
        return "quiet hours lasted until it expired"
    return later


def _window(
    ctx: ServiceContext,
    row: ClaimRow,
    office: Location | None,
    known: dict[tuple[str, str | None], TextingPolicy],
) -> TextingPolicy | None:
    """The hours in which this text may go out, client local time; None: at any hour (HELP).

    `known`: the policies worked out so far, by office and home office."""
    if office is None or row.kind == "help":
        return None
    key = (office.id, row.home_office_id)
    policy = known.get(key)
    if policy is None:
        policy = policy_for(ctx.settings, office, ctx.locations.get(row.home_office_id))
        known[key] = policy
    return policy


def _render(
    ctx: ServiceContext,
    row: ClaimRow,
    office: Location,
    used: dict[int, list[str]],
    link: str | None,
) -> tuple[str, str | None]:
    if row.kind == "reply":
        if not row.body:
            raise ValueError("a reply needs its body written by whoever queued it")
        return row.body, None
    prompt_id = prompt_text = None
    if row.kind == "goal_prompt":
        seen = used.setdefault(row.series_id, [])
        prompt_id, prompt_text = choose_prompt(
            row.problem_area, row.number, row.session_count, seen, seed=row.series_id
        )
        seen.append(prompt_id)  # two prompts of one series in one batch still differ
    facts = TextFacts(
        kind=row.kind,
        first_name=row.first_name,
        client_zone=row.timezone,
        language=row.language,
        office=office,
        practice=ctx.locations.practice,
        number=row.number,
        session_count=row.session_count,
        starts_at=row.starts_at,
        prompt_text=prompt_text,
        weekly_goal=row.weekly_goal if row.goal_detail_consent else None,
        series_kind=row.series_kind or "acute",
        link=link if row.kind == "measure_link" else None,
        notice=row.facts,
        cadence_weeks=row.cadence_weeks or 1,
    )
    return render(facts), prompt_id


def _used_prompts(db: Session, series_ids: list[int | None]) -> dict[int, list[str]]:
    ids = sorted({i for i in series_ids if i is not None})
    if not ids:
        return {}
    found: dict[int, list[str]] = defaultdict(list)
    for series_id, prompt_id in db.execute(
        select(_M.series_id, _M.prompt_id).where(
            _M.series_id.in_(ids),
            _M.kind == "goal_prompt",
            _M.prompt_id.is_not(None),
            _M.status.in_(("sending", "sent", "delivered")),
        )
    ):
        found[series_id].append(prompt_id)
    return found


def _write(
    db: Session, updates: dict[str, list[Any]], worker: str, now: datetime, clocks: dict[str, Any]
) -> None:
    shared = {"b_now": now, "b_worker": worker}
    # The senders' clocks only move when texts were given slots: with the claims.
    _update.execute(db, "claim", updates.get("claim", ()), shared, along=senders.advance(clocks))
    for name in ("suppress", "defer", "fail"):
        _update.execute(db, name, updates.get(name, ()), shared)


# One batched UPDATE per outcome of a claim.
_update = updates_by_name(
    {
        "claim": {
            "status": "sending",
            "claimed_by": bindparam("b_worker"),
            "claimed_at": bindparam("b_now"),
            "attempts": bindparam("b_attempts"),
            "body": bindparam("b_body"),
            "to_number": bindparam("b_to"),
            "session_revision": bindparam("b_revision"),
            "prompt_id": bindparam("b_prompt"),
        },
        "suppress": {"status": "suppressed", "reason": bindparam("b_reason")},
        "defer": {"next_attempt_at": bindparam("b_next")},
        "fail": {"status": "failed", "error": bindparam("b_error")},
    }
)
