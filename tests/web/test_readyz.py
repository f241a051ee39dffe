"""GET /readyz: database, migrations, a live worker, and how late the oldest due text is.

The worker's heartbeat is written by the real dispatch pass (the hook `build_scheduler`
installs), and time moves by a hand-turned clock on the container, never by sleeping.
Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db.models import OutboundMessage
from scheduler.sms.fake import FakeGateway
from scheduler.web import create_app
from scheduler.wiring import Container, assemble
from scheduler.worker import build_scheduler
from tests import factories
from tests.web.clock_support import Clock

KEYS = {
    "database",
    "migrations",
    "worker_heartbeat_age_s",
    "oldest_due_text_age_s",
    "problems",
}


@pytest.fixture
def clock(container: Container) -> Clock:
    turned = Clock(datetime(2027, 3, 3, 18, 0, tzinfo=UTC))
    container.clock = turned
    return turned


@pytest.fixture
def worker(container: Container, clock: Clock) -> Iterator[Any]:
    """A worker's dispatcher as `build_scheduler` wires it (not started: passes run by hand)."""
    build_scheduler(container, blocking=False)
    yield container.dispatcher
    container.dispatcher.close()


def ready(client: FlaskClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    body = response.get_json()
    assert set(body) == KEYS
    return response.status_code, body


def test_503_when_the_worker_stops_beating_and_200_when_it_beats_again(
    client: FlaskClient, worker: Any, clock: Clock, container: Container
) -> None:
    status, body = ready(client)
    assert status == 503
    assert body["worker_heartbeat_age_s"] is None
    assert body["problems"] == ["no worker has ever started a dispatch pass"]

    worker.run_pass()
    status, body = ready(client)
    assert status == 200, body
    assert body == {
        "database": "ok",
        "migrations": "current",
        "worker_heartbeat_age_s": 0.0,
        "oldest_due_text_age_s": None,
        "problems": [],
    }

    limit = 3 * container.settings.dispatch_interval_seconds
    clock.advance(seconds=limit)  # exactly three intervals: still alive
    assert ready(client)[0] == 200
    clock.advance(seconds=1)
    status, body = ready(client)
    assert status == 503
    assert body["worker_heartbeat_age_s"] == limit + 1
    assert body["database"] == "ok" and body["migrations"] == "current"
    assert body["problems"] == [f"no worker heartbeat for {limit + 1} s (limit {limit} s)"]

    worker.run_pass()
    status, body = ready(client)
    assert status == 200
    assert body["worker_heartbeat_age_s"] == 0.0


def test_the_oldest_due_text_age_is_reported(
    client: FlaskClient, worker: Any, clock: Clock, db: Session, ctx: Any
) -> None:
    worker.run_pass()
    person = factories.client(db, ctx)
    now = clock()
    for minutes, status in ((3, "pending"), (9, "sent"), (-5, "pending")):
        db.add(
            OutboundMessage(
                client_id=person.id,
                office_id="seattle",
                kind="booking_confirmation",
                send_at=now - timedelta(minutes=minutes),
                status=status,
            )
        )
    # Waiting for a retry: due from its next attempt, which is still ahead.
    db.add(
        OutboundMessage(
            client_id=person.id,
            office_id="seattle",
            kind="booking_confirmation",
            send_at=now - timedelta(hours=2),
            next_attempt_at=now + timedelta(minutes=1),
            status="pending",
        )
    )
    db.commit()
    status, body = ready(client)
    assert status == 200  # a backlog is for alerting; it does not make the web unready
    assert body["oldest_due_text_age_s"] == 180.0


def test_503_when_migrations_are_behind(client: FlaskClient, worker: Any, connection: Any) -> None:
    worker.run_pass()
    # Inside the test's transaction, rolled back afterwards.
    connection.execute(text("UPDATE alembic_version SET version_num = '0011_frontdesk'"))
    status, body = ready(client)
    assert status == 503
    assert body["migrations"].startswith("behind: at 0011_frontdesk, head is ")
    assert any("ipt-scheduler db upgrade" in p for p in body["problems"])


def test_503_when_the_database_cannot_be_reached(container: Container) -> None:
    # Nothing listens on port 1: the connection is refused at once.
    gone = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing", hide_parameters=True)
    broken = assemble(
        container.settings, container.locations, gone, sessionmaker(gone), FakeGateway()
    )
    app = create_app(container=broken)
    status, body = ready(app.test_client())
    assert status == 503
    assert body["database"] == "unreachable (OperationalError)"
    assert body["migrations"] == "unknown"
    assert body["problems"] == ["database unreachable (OperationalError)"]
    gone.dispose()
