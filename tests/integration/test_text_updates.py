"""The dispatcher's batched UPDATEs (scheduler.texts.updates): each row gets its own values,
and a batch is one statement whatever its size (unnest on PostgreSQL, json_each on SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, text

from scheduler.db.models import SmsSender
from scheduler.texts import claim
from scheduler.texts.outcomes import record_update
from tests import factories
from tests.integration.dispatch_support import book, rows


def test_a_batch_writes_each_row_its_own_values_in_one_statement(db, tctx, container):
    book(db, tctx)
    first, second, third, fourth = (r.id for r in rows(db)[:4])
    now = datetime(2027, 2, 15, 18, 0, tzinfo=UTC)
    later = now + timedelta(minutes=3)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE outbound_messages"):
            statements.append(statement)

    engine = container.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with container.sessions.begin() as other:
            record_update.execute(
                other,
                "refused",
                [
                    {
                        "b_id": first,
                        "b_status": "pending",
                        "b_next": later,
                        "b_code": 20429,
                        "b_error": "too many requests",
                    },
                    {
                        "b_id": second,
                        "b_status": "failed",
                        "b_next": None,
                        "b_code": 21610,
                        "b_error": "opted out",
                    },
                ],
                {"b_now": now},
            )
            # A column expression (attempts - 1) and no per-row value but the id.
            record_update.execute(
                other, "halted", [{"b_id": second}, {"b_id": third}], {"b_now": later}
            )
            # One row: the plain statement, to compare what the batch stored with.
            one = {"b_id": fourth, "b_status": "pending", "b_next": later, "b_code": None}
            record_update.execute(other, "refused", [{**one, "b_error": None}], {"b_now": now})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    by_id = {r.id: r for r in rows(db)}
    a, b, c = by_id[first], by_id[second], by_id[third]
    assert (a.status, a.next_attempt_at, a.error_code, a.error) == (
        "pending",
        later,
        20429,
        "too many requests",
    )
    assert a.updated_at == now
    assert (b.status, b.next_attempt_at, b.error_code) == ("pending", None, 21610)
    assert (b.attempts, c.attempts) == (-1, -1) and c.status == "pending"
    assert b.updated_at == c.updated_at == later
    batched = "unnest" if engine.dialect.name == "postgresql" else "json_each"
    assert len(statements) == 3 and all(batched in s for s in statements[:2])
    # A datetime passed in the batch is stored as a bound one is (SQLite keeps text, which the
    # due queries compare as text).
    stored = text("SELECT next_attempt_at, updated_at FROM outbound_messages WHERE id = :id")
    assert db.execute(stored, {"id": first}).one() == db.execute(stored, {"id": fourth}).one()


def test_a_claim_moves_its_senders_clock_past_the_slots_it_gave(db, tctx, container):
    """The clock is written with the claims (on PostgreSQL in the same statement)."""
    for _ in range(3):
        book(db, tctx, client_obj=factories.client(db, tctx))
    before = datetime.now(UTC)
    with container.sessions.begin() as other:
        result = claim.claim_batch(
            other, tctx, worker="w", limit=10, horizon=5, known_senders=set()
        )
    assert len(result.claimed) >= 3
    last = max(c.slot for c in result.claimed)
    interval = result.claimed[0].interval
    db.expire_all()
    sender = db.get(SmsSender, result.claimed[0].sender)
    assert sender.next_slot_at == last + timedelta(seconds=interval)
    assert sender.next_slot_at > before
    claimed = {r.id: r for r in rows(db, status="sending")}
    assert set(claimed) == {c.id for c in result.claimed}
    assert all(
        claimed[c.id].body == c.body and claimed[c.id].to_number == c.to for c in result.claimed
    )
