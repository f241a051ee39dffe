"""Recording one text's outcome never loses another's (scheduler.texts.record).

Reproduces what the static Prism mock of Twilio showed: it answers the same SID to every send,
the batch's outcome UPDATE hit the unique index on provider_sid, and the whole batch rolled
back, leaving texts that went out recorded as "sending" with no SID.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from scheduler.db.models import AuditEntry, OutboundMessage
from scheduler.sms.fake import FakeGateway
from scheduler.sms.gateway import OutboundSms, SentRecord
from scheduler.texts import claim
from scheduler.texts.reconcile import reconcile
from scheduler.texts.record import DUPLICATE_SID_REASON
from scheduler.texts.send import Dispatcher
from tests import factories
from tests.integration.dispatch_support import book, rows

REPEATED_SID = "SM" + "a" * 32


class RepeatingSidGateway(FakeGateway):
    """Accepts every text (and records it) but gives one SID to all, as Prism does."""

    def _record(self, message: OutboundSms) -> SentRecord:
        record = replace(super()._record(message), sid=REPEATED_SID)
        self._records[-1] = record
        return record


def confirmations(db, clients):
    return [rows(db, client_id=c.id, kind="booking_confirmation")[0] for c in clients]


def booked_clients(db, tctx, n: int):
    clients = [factories.client(db, tctx, phone=f"+1206555{7000 + i:04d}") for i in range(n)]
    for c in clients:
        book(db, tctx, client_obj=c)
    return clients


def test_a_repeated_sid_is_an_anomaly_not_a_lost_batch(db, container, tctx, caplog):
    clients = booked_clients(db, tctx, 3)
    gateway = RepeatingSidGateway()
    d = Dispatcher(container.sessions, tctx, gateway, worker_id="prism-like")
    try:
        with caplog.at_level(logging.WARNING):
            stats = d.run_pass()
        assert (stats.sent, stats.flagged) == (3, 2)
        assert d.run_pass().sent == 0  # nothing is sent twice
    finally:
        d.close()
    assert len(gateway.sent) == 3
    sent = confirmations(db, clients)
    assert {r.status for r in sent} == {"sent"}
    holders = [r for r in sent if r.provider_sid == REPEATED_SID]
    flagged = [r for r in sent if r.reason == DUPLICATE_SID_REASON]
    assert len(holders) == 1 and len(flagged) == 2
    for row in flagged:
        assert row.provider_sid is None and row.sent_at is not None
        assert REPEATED_SID in row.error and str(holders[0].id) in row.error
    audits = db.scalars(select(AuditEntry).where(AuditEntry.action == "message.duplicate_sid"))
    assert sorted(int(a.entity_id) for a in audits) == sorted(r.id for r in flagged)
    # The log names message ids, never a number or the words of a text.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert all(str(r.id) in logged for r in flagged)
    for c, row in zip(clients, sent, strict=True):
        assert c.phone not in logged and row.body not in logged


def fail_statements(connection, should_fail):
    """Make statements the predicate picks fail as the database would (a DBAPI error)."""
    dbapi_error = connection.dialect.loaded_dbapi.OperationalError

    def check(conn, cursor, statement, parameters, context, executemany):
        # The parameters by name (the DBAPI's own may be positional).
        named = list(getattr(context, "compiled_parameters", None) or [])
        if should_fail(statement, named, executemany):
            raise OperationalError(statement, parameters, dbapi_error("injected failure"))

    event.listen(connection, "before_cursor_execute", check)
    return lambda: event.remove(connection, "before_cursor_execute", check)


def is_sent_update(statement: str) -> bool:
    return statement.startswith("UPDATE outbound_messages") and "provider_sid" in statement


def message_ids(parameters) -> list[int]:
    """The ids a statement writes: one per executemany row, or those of a batched UPDATE
    (PostgreSQL: UPDATE ... FROM unnest(:b_id, ...); SQLite: FROM json_each(:b_batch))."""
    found: list[int] = []
    for p in parameters:
        if "b_batch" in p:
            found.extend(row["b_id"] for row in json.loads(p["b_batch"]))
            continue
        value = p.get("b_id")
        found.extend(value if isinstance(value, list) else [value])
    return found


def test_an_error_on_one_row_leaves_that_row_for_reconciliation_and_records_the_rest(
    db, connection, container, tctx, clock
):
    clients = booked_clients(db, tctx, 3)
    victim = confirmations(db, clients)[1]

    def one_row(statement, parameters, executemany):
        return is_sent_update(statement) and victim.id in message_ids(parameters)

    gateway = FakeGateway()
    d = Dispatcher(container.sessions, tctx, gateway, worker_id="w")
    undo = fail_statements(connection, one_row)
    try:
        stats = d.run_pass()
    finally:
        undo()
        d.close()
    assert stats.sent == 3 and len(gateway.sent) == 3
    after = {r.id: r for r in confirmations(db, clients)}
    others = [r for r in after.values() if r.id != victim.id]
    assert {r.status for r in others} == {"sent"} and all(r.provider_sid for r in others)
    stuck = after[victim.id]
    assert (stuck.status, stuck.claimed_by, stuck.provider_sid) == ("sending", None, None)
    assert "could not be recorded" in stuck.error and stuck.next_attempt_at is not None
    # Reconciliation finds it at the provider: recorded, not sent again.
    with container.sessions.begin() as other:
        settled = reconcile(
            other,
            gateway,
            claim_timeout=timedelta(minutes=2),
            worker="r",
            now=stuck.next_attempt_at,
        )
    assert settled.found_sent == 1
    (row,) = rows(db, id=victim.id)
    assert row.status == "sent" and row.provider_sid in {r.sid for r in gateway.sent}
    assert Counter(r.to for r in gateway.sent) == Counter(c.phone for c in clients)


def test_a_connection_lost_while_recording_is_recorded_text_by_text(
    db, connection, container, tctx
):
    clients = booked_clients(db, tctx, 4)
    failed: list[int] = []

    def first_batch_write(statement, parameters, executemany):
        # The whole batch's write fails once, as when the backend is terminated.
        batch = message_ids(parameters)
        if len(batch) > 1 and is_sent_update(statement) and not failed:
            failed.append(len(batch))
            return True
        return False

    gateway = FakeGateway()
    d = Dispatcher(container.sessions, tctx, gateway, worker_id="w")
    undo = fail_statements(connection, first_batch_write)
    try:
        stats = d.run_pass()
    finally:
        undo()
        d.close()
    assert failed and stats.sent == 4
    after = confirmations(db, clients)
    assert {r.status for r in after} == {"sent"}
    assert {r.provider_sid for r in after} == {r.sid for r in gateway.sent}


def test_a_database_error_before_sending_gives_the_texts_back(db, connection, container, tctx):
    clients = booked_clients(db, tctx, 2)
    failed: list[int] = []

    def verify_query(statement, parameters, executemany):
        # The send transaction's first look: the sessions the claimed texts are about.
        if statement.startswith("SELECT sessions.id, sessions.revision") and not failed:
            failed.append(1)
            return True
        return False

    gateway = FakeGateway()
    d = Dispatcher(container.sessions, tctx, gateway, worker_id="w")
    undo = fail_statements(connection, verify_query)
    try:
        first = d.run_pass(max_batches=1)
    finally:
        undo()
    try:
        assert failed and first.sent == 0 and first.released == 2
        assert gateway.sent == []
        assert {r.status for r in confirmations(db, clients)} == {"pending"}
        assert d.run_pass().sent == 2
    finally:
        d.close()
    assert len(gateway.sent) == 2


@pytest.mark.parametrize("flagged_first", [True, False])
def test_reconciliation_records_a_repeated_sid_as_flagged(db, container, tctx, flagged_first):
    clients = booked_clients(db, tctx, 2)
    gateway = RepeatingSidGateway()
    with container.sessions.begin() as other:
        claimed = claim.claim_batch(
            other, tctx, worker="dead", limit=10, horizon=5, known_senders=set()
        )
    assert len(claimed.claimed) == 2
    # The dead worker sent both; Prism-like, both got the same SID. One was recorded.
    for c in claimed.claimed:
        gateway.send(OutboundSms(to=c.to, body=c.body))
    recorded, lost = claimed.claimed if flagged_first else claimed.claimed[::-1]
    with container.sessions.begin() as other:
        row = other.get(OutboundMessage, recorded.id)
        row.status, row.provider_sid, row.claimed_by = "sent", REPEATED_SID, None
    with container.sessions.begin() as other:
        from datetime import UTC, datetime

        stats = reconcile(
            other,
            gateway,
            claim_timeout=timedelta(minutes=2),
            worker="r",
            now=datetime.now(UTC) + timedelta(minutes=3),
        )
    assert (stats.found_sent, stats.requeued) == (1, 0)
    (row,) = rows(db, id=lost.id)
    assert (row.status, row.provider_sid, row.reason) == ("sent", None, DUPLICATE_SID_REASON)
    assert len(gateway.sent) == 2 and {r.status for r in confirmations(db, clients)} == {"sent"}
