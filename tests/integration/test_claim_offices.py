"""The dispatcher's claim costs what is due, not what is configured (issue 13, item 3).

A practice of 180 offices must claim as cheaply as one of 9 when the same texts are due: the
claim first asks which offices have anything due and reads candidates only for those, so the
statements it runs, and their parameters, are the same however many idle offices exist.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import event

from scheduler.db.models import OutboundMessage
from scheduler.texts import claim
from tests import factories
from tests.integration.dispatch_support import rows


def _with_idle_offices(tctx, count: int):
    """The same practice with `count` more offices configured, none with anything due."""
    base = tctx.locations.locations[0]
    extra = tuple(replace(base, id=f"idle-{n}", name=f"Idle {n}") for n in range(count))
    return replace(
        tctx, locations=replace(tctx.locations, locations=(*tctx.locations.locations, *extra))
    )


def _claim_recording(db, ctx, limit: int = 20) -> tuple[list[int], list[tuple[str, str]]]:
    """Claim (rolled back) and return the claimed ids and each statement with its parameters."""
    seen: list[tuple[str, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        # Savepoint names count up from one claim to the next; their number is no shape.
        # Nor are send slots, which follow the real clock.
        params = re.sub(
            r"datetime\.datetime\([^)]*\)|'\d{4}-\d\d-\d\d [\d:.]+'", "<t>", repr(parameters)
        )
        seen.append((re.sub(r"sa_savepoint_\d+", "sa_savepoint", statement), params))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = claim.claim_batch(
            db, ctx, worker="t", limit=limit, horizon=2.0, known_senders=set()
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
        db.rollback()
    return sorted(c.id for c in result.claimed), seen


def _due_in(db, tctx, offices: list[str]) -> None:
    """A booking confirmation due now in each office (booked a minute apart, in this order)."""
    for office in offices:
        client = factories.client(db, tctx, office)
        factories.series(db, tctx, office=office, client_obj=client, first=date(2027, 2, 24))
        tctx.clock.now += timedelta(minutes=1)
    db.commit()


def test_the_claims_statements_do_not_grow_with_offices_that_have_nothing_due(db, tctx):
    _due_in(db, tctx, ["seattle", "miami"])
    few_ids, few = _claim_recording(db, tctx)
    many_ids, many = _claim_recording(db, _with_idle_offices(tctx, 200))

    assert few_ids and few_ids == many_ids
    # The same statements, word for word, with the same parameters.
    assert [s for s, _ in many] == [s for s, _ in few]
    assert [p for _, p in many] == [p for _, p in few]
    assert not any("idle-" in s or "idle-" in p for s, p in many)


def test_offices_take_turns_the_longest_waiting_first(db, tctx):
    # Seattle has waited longest; then Miami three times over; Dallas last (the reverse of
    # the offices' alphabetical order, so the order below comes from the waiting).
    _due_in(db, tctx, ["seattle", "miami", "miami", "miami", "dallas"])
    ids, _ = _claim_recording(db, tctx, limit=3)
    offices = sorted(r.office_id for r in rows(db) if r.id in ids)
    # Every office's first text before anyone's second: Miami's backlog waits its turn.
    assert offices == ["dallas", "miami", "seattle"]

    # Room for two: Dallas, due last, waits for the next claim.
    ids, _ = _claim_recording(db, tctx, limit=2)
    assert sorted(r.office_id for r in rows(db) if r.id in ids) == ["miami", "seattle"]


def test_texts_of_an_office_no_longer_configured_are_still_closed(db, tctx):
    _due_in(db, tctx, ["dallas", "seattle"])
    now = tctx.clock.now
    due = {r.id for r in rows(db, status="pending") if r.send_at is not None and r.send_at <= now}
    book = tctx.locations
    without_dallas = replace(
        tctx,
        locations=replace(book, locations=tuple(o for o in book.locations if o.id != "dallas")),
    )
    result = claim.claim_batch(
        db, without_dallas, worker="t", limit=20, horizon=2.0, known_senders=set()
    )
    db.commit()
    dallas = [r for r in rows(db) if r.id in due and r.office_id == "dallas"]
    assert dallas and all(r.status == "suppressed" for r in dallas)
    assert {r.reason for r in dallas} == {"office no longer configured"}
    assert result.suppressed == len(dallas)
    assert len(result.claimed) == len([r for r in rows(db, office_id="seattle") if r.id in due]) > 0


def test_a_claim_with_nothing_due_runs_one_statement(db, tctx):
    ids, seen = _claim_recording(db, _with_idle_offices(tctx, 50))
    queries = [s for s, _ in seen if not s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    assert ids == [] and len(queries) == 1  # which offices have anything due: none
    assert OutboundMessage.__tablename__ in queries[0]
