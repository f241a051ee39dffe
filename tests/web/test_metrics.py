"""GET /metrics: who may scrape, what it says, and multiprocess mode as gunicorn runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from scheduler.db.models import OutboundMessage
from scheduler.services import readiness
from scheduler.web import create_app
from scheduler.wiring import Container
from tests import factories
from tests.web.clock_support import Clock

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-0123456789"
OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


def samples(body: str) -> dict[str, float]:
    out = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


@pytest.fixture
def guarded(container: Container) -> FlaskClient:
    """An app with METRICS_TOKEN set."""
    container.settings = replace(container.settings, metrics_token=TOKEN)
    return create_app(container=container).test_client()


def test_loopback_may_scrape_without_a_token(client: FlaskClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert samples(response.get_data(as_text=True))["ipt_database_up"] == 1


def test_elsewhere_needs_the_token_and_gets_404_without_it(guarded: FlaskClient) -> None:
    assert guarded.get("/metrics", environ_base=OUTSIDE).status_code == 404
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert guarded.get("/metrics", environ_base=OUTSIDE, headers=wrong).status_code == 404
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/metrics", environ_base=OUTSIDE, headers=right).status_code == 200
    # Through a proxy on this host every visitor would look local: a forwarded request needs
    # the token too.
    forwarded = {"X-Forwarded-For": "198.51.100.7"}
    assert guarded.get("/metrics", headers=forwarded).status_code == 404


def test_without_a_configured_token_only_loopback_gets_in(client: FlaskClient) -> None:
    attempt = {"Authorization": "Bearer anything-at-all-0123"}
    assert client.get("/metrics", environ_base=OUTSIDE, headers=attempt).status_code == 404


def test_gauges_come_from_the_database_at_scrape_time(
    client: FlaskClient, container: Container, db: Session, ctx: Any
) -> None:
    clock = Clock(datetime(2027, 3, 3, 18, 0, tzinfo=UTC))
    container.clock = clock
    person = factories.client(db, ctx)
    for minutes, status in ((4, "pending"), (1, "pending"), (2, "sending"), (3, "sending")):
        db.add(
            OutboundMessage(
                client_id=person.id,
                office_id="miami",
                kind="booking_confirmation",
                send_at=clock() - timedelta(minutes=minutes),
                status=status,
            )
        )
    readiness.beat(db, "w-1", clock() - timedelta(seconds=7))
    db.commit()
    got = samples(client.get("/metrics").get_data(as_text=True))
    assert got["ipt_oldest_due_text_age_seconds"] == 240
    assert got["ipt_claims_in_flight"] == 2
    assert got["ipt_worker_heartbeat_age_seconds"] == 7
    clock.advance(seconds=60)
    got = samples(client.get("/metrics").get_data(as_text=True))
    assert got["ipt_oldest_due_text_age_seconds"] == 300


def test_request_latency_is_labelled_by_endpoint_never_by_path(
    app: Flask, api: Any, db: Session, ctx: Any
) -> None:
    person = factories.client(db, ctx)
    db.commit()
    labels = {"endpoint": "/api/v1/clients/<int:client_id>", "method": "GET", "status": "200"}
    before = REGISTRY.get_sample_value("ipt_http_request_duration_seconds_count", labels) or 0
    assert api.get(f"/clients/{person.id}").status_code == 200
    after = REGISTRY.get_sample_value("ipt_http_request_duration_seconds_count", labels)
    assert after == before + 1
    body = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'endpoint="/api/v1/clients/<int:client_id>"' in body
    assert f"/clients/{person.id}" not in body


MULTIPROC_CHILD = """
import sys
from scheduler import metrics
metrics.count_texts([("reminder_24h", "miami", "sent")] * int(sys.argv[1]))
metrics.observe_request("/healthz", "GET", 200, 0.01)
"""
MULTIPROC_SCRAPE = """
from scheduler import metrics
body, _ = metrics.exposition([])
print(body.decode())
"""


def test_multiprocess_mode_adds_up_every_process(tmp_path: Path) -> None:
    """As under gunicorn: each process writes to PROMETHEUS_MULTIPROC_DIR, a scrape sums them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (2, 3):  # two processes, like two gunicorn workers (or a web and a worker)
        subprocess.run(
            [sys.executable, "-c", MULTIPROC_CHILD, str(n)], env=env, check=True, cwd=ROOT
        )
    out = subprocess.run(
        [sys.executable, "-c", MULTIPROC_SCRAPE],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    got = samples(out)
    assert got["ipt_texts_total{kind=reminder_24h,office=miami,outcome=sent}"] == 5
    key = "ipt_http_request_duration_seconds_count{endpoint=/healthz,method=GET,status=200}"
    assert got[key] == 2
