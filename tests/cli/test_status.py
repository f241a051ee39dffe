"""`ipt-scheduler status`: what /readyz says, and a non-zero exit when not ready."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scheduler.cli import main
from scheduler.db.types import utcnow
from scheduler.services import readiness


def test_status_exits_1_without_a_live_worker_and_0_with_one(
    module_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("DATABASE_URL", module_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))
    runner = CliRunner()

    result = runner.invoke(main, ["status"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["database"] == "ok"
    assert report["migrations"] == "current"
    assert report["problems"] == ["no worker has ever started a dispatch pass"]

    with Session(module_engine) as db, db.begin():
        readiness.beat(db, "test-worker", utcnow())
    result = runner.invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["problems"] == []
    assert 0 <= report["worker_heartbeat_age_s"] < 60
