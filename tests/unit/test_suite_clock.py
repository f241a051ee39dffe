"""The suite's own clock (tests/conftest.py): fixed dates in tests stay in the future."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from scheduler.db.types import utcnow
from tests.conftest import SUITE_NOW


def test_a_test_starts_at_the_suite_instant_on_every_clock_it_reads() -> None:
    for now in (datetime.now(UTC), utcnow(), datetime.fromtimestamp(time.time(), UTC)):
        assert SUITE_NOW <= now < SUITE_NOW + timedelta(minutes=5)
    assert date.today() == SUITE_NOW.date()


def test_the_suite_clock_ticks() -> None:
    first = datetime.now(UTC)
    time.sleep(0.01)
    assert datetime.now(UTC) > first


@pytest.mark.real_clock
def test_a_real_clock_test_reads_the_machine_clock() -> None:
    # Other processes (the worker, gunicorn, Chromium) read this clock, never the suite's.
    now = datetime.now(UTC)
    assert not SUITE_NOW <= now < SUITE_NOW + timedelta(minutes=5)
