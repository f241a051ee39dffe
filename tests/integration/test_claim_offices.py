"""The dispatcher's claim costs what is due, not what is configured (issue 13, item 3).

A practice of 180 offices must claim as cheaply as one of 9 when the same texts are due: the
claim first asks which offices have anything due and reads candidates only for those, so the
statements it runs, and their parameters, are the same however many idle offices exist.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from unittest.mock import patch

import pytest
from sqlalchemy import event

from scheduler.db.models import OutboundMessage
from scheduler.texts import claim, due
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


# The head of the queue against the hop from office to office: `due.candidates` reads the
# oldest pending texts of all offices together and uses them when they tell the whole
# answer; otherwise it asks office by office. Both must give the same fair order.


def _queue(db, tctx, shape: dict[str, list[tuple[int, int | None]]]) -> dict[str, list[int]]:
    """Pending texts, office -> [(minutes before now it fell due, minutes until its retry or
    None)], written in a shuffled order so ids do not follow the waiting. Returns each
    office's ids, oldest first."""
    now = tctx.clock.now
    clients = {office: factories.client(db, tctx, office) for office in shape}
    made: dict[str, list[tuple[int, int]]] = {office: [] for office in shape}
    spots = [(office, spec) for office, specs in shape.items() for spec in specs]
    for office, (ago, retry) in sorted(spots, key=lambda s: (s[1][0] * 7919) % 13):
        row = OutboundMessage(
            client_id=clients[office].id,
            office_id=office,
            kind="booking_confirmation",
            status="pending",
            send_at=now - timedelta(minutes=ago),
            next_attempt_at=None if retry is None else now + timedelta(minutes=retry),
        )
        db.add(row)
        db.flush()
        made[office].append((-ago, row.id))
    db.commit()
    return {office: [i for _, i in sorted(texts)] for office, texts in made.items()}


def _hop(db, tctx, limit: int) -> tuple[list[int], dict[str, int]]:
    """The candidates as the office-by-office statement finds them."""
    with patch.object(due, "_from_the_head", return_value=None):
        return due.candidates(db, tctx, tctx.clock.now, limit, 2.0)


SHAPES = {
    # Every office waiting, some at the same instant, one held back for a retry.
    "spread": {
        "seattle": [(30, None), (20, None), (5, None)],
        "miami": [(30, None), (25, None)],
        "dallas": [(40, 10), (15, None)],
        "tucson": [(30, None)],
        "folsom": [(1, None)],
    },
    # One office's backlog ahead of everyone else's first text.
    "backlog": {"miami": [(100 - n, None) for n in range(30)], "seattle": [(10, None)]},
    # More offices waiting than a small claim looks at, each with more than one text.
    "many": {
        office: [(60 - 5 * n, None), (9 - n, None)]
        for n, office in enumerate(["seattle", "miami", "dallas", "tucson", "folsom", "westwood"])
    },
    # The longest-waiting office has nothing it may send yet.
    "held": {"dallas": [(50, 30), (45, 30)], "miami": [(40, None)], "seattle": [(2, None)]},
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("limit", [1, 2, 20])
@pytest.mark.parametrize("depth", [1, due.HEAD_DEPTH])
def test_the_head_of_the_queue_and_the_hop_agree(db, tctx, shape, limit, depth):
    made = _queue(db, tctx, SHAPES[shape])
    with patch.object(due, "HEAD_DEPTH", depth):
        ids, quotas = due.candidates(db, tctx, tctx.clock.now, limit, 2.0)
    hop_ids, hop_quotas = _hop(db, tctx, limit)
    if sum(map(len, made.values())) < limit * depth:  # the head read all that is due
        assert (ids, quotas) == (hop_ids, hop_quotas)
    # Otherwise it may know only the first turn: the same texts in the same order, as far as
    # it goes, and at least what one claim takes.
    assert ids == hop_ids[: len(ids)]
    assert len(ids) >= min(limit, len(hop_ids)) > 0
    assert quotas == {office: hop_quotas[office] for office in quotas}


def test_the_head_alone_answers_when_it_reaches_the_end_of_what_is_due(db, tctx):
    made = _queue(db, tctx, SHAPES["spread"])
    conn = db.connection()
    got = due._from_the_head(conn, tctx.clock.now, limit=20, wanted=80)
    assert got is not None
    # Dallas's oldest (40 minutes) is held back, but Dallas has waited longest: it goes first
    # with the text it may send. Seattle's, Miami's and Tucson's oldest fell due at the same
    # instant: the older row first. Folsom's came last.
    same_instant = sorted(["seattle", "miami", "tucson"], key=lambda o: made[o][0])
    ranked = [office for _, office, _ in got]
    assert list(dict.fromkeys(ranked)) == ["dallas", *same_instant, "folsom"]
    # Dallas gives only what it may send now.
    assert [m for _, o, m in got if o == "dallas"] == [made["dallas"][1]]


def test_a_backlog_in_one_office_is_handed_to_the_hop_and_still_waits_its_turn(db, tctx):
    made = _queue(db, tctx, SHAPES["backlog"])
    conn = db.connection()
    # A claim of two reads 2 x HEAD_DEPTH texts from the head: all Miami's, one office.
    assert due._from_the_head(conn, tctx.clock.now, limit=2, wanted=8) is None
    ids, quotas = due.candidates(db, tctx, tctx.clock.now, 2, 2.0)
    assert set(quotas) == {"miami", "seattle"}
    # Miami's oldest first, then Seattle's first, before Miami's second.
    assert ids[:3] == [made["miami"][0], made["seattle"][0], made["miami"][1]]


def test_while_the_head_cannot_tell_a_dispatcher_goes_straight_to_the_hop(db, tctx):
    made = _queue(db, tctx, SHAPES["backlog"])
    way = due.HeadOrHop()
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):  # the fixture's
            statements.append(statement)

    def claim_candidates() -> list[int]:
        statements.clear()
        event.listen(db.get_bind(), "before_cursor_execute", record)
        try:
            ids, _ = due.candidates(db, tctx, tctx.clock.now, 2, 2.0, way)
        finally:
            event.remove(db.get_bind(), "before_cursor_execute", record)
        return ids

    fair = [made["miami"][0], made["seattle"][0], made["miami"][1]]
    # The first claim reads the head (all Miami's: it cannot tell), then hops.
    assert claim_candidates()[:3] == fair and len(statements) == 2
    # The next ones hop straight away, the same texts in the same order ...
    for _ in range(due.RETRY_HEAD_AFTER):
        assert claim_candidates()[:3] == fair and len(statements) == 1
        assert "WITH RECURSIVE" in statements[0]
    # ... and then the head is tried again.
    assert claim_candidates()[:3] == fair and len(statements) == 2
