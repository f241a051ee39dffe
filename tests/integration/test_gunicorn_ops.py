"""The Procfile's web line, run for real: gunicorn with 2 workers and scheduler/gunicorn_conf.py.

/metrics adds up what every gunicorn worker counted (Prometheus multiprocess mode), /readyz
answers 503 with no worker beating, and LOG_FORMAT=json gives one JSON request line each.
On the suite's database: SQLite, or PostgreSQL with TEST_DATABASE_URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from tests.support.procfile import ROOT, free_port, serve_web

# Worker and web processes read the machine's clock: so does the test that seeds them.
pytestmark = [pytest.mark.slow, pytest.mark.real_clock]


@pytest.fixture
def served(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "gunicorn.log"
    env = {
        "DATABASE_URL": database_url,
        "LOCATIONS_FILE": str(ROOT / "locations.yaml"),
        "SECRET_KEY": "gunicorn-test-secret-0123456789",
        "INSTANCE_DIR": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "LOG_FORMAT": "json",
    }
    with serve_web(env, free_port(), log, timeout=60) as base:
        yield base, log
    assert "Traceback" not in log.read_text(), log.read_text()


def _healthz_count(body: str) -> float:
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name == "ipt_http_request_duration_seconds_count" and s.labels == {
                "endpoint": "/healthz",
                "method": "GET",
                "status": "200",
            }:
                return s.value
    return 0.0


def test_metrics_add_up_every_gunicorn_worker(served: tuple[str, Path]) -> None:
    base, log = served
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as r:
        before = _healthz_count(r.read().decode())
    for _ in range(30):  # a new connection each: both workers get some
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as r:
            assert r.status == 200
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as r:
        body = r.read().decode()
    assert _healthz_count(body) == before + 30
    assert "ipt_database_up 1.0" in body

    request = urllib.request.Request(f"{base}/readyz", headers={"X-Request-ID": "probe-1"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 503
    assert refused.value.headers["X-Request-ID"] == "probe-1"
    report = json.loads(refused.value.read())
    assert report["database"] == "ok" and report["migrations"] == "current"
    assert report["problems"] == ["no worker has ever started a dispatch pass"]

    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    (probe,) = [x for x in lines if x.get("request_id") == "probe-1"]
    assert probe["path"] == "/readyz" and probe["status"] == 503
