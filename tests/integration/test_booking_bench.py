"""A small run of bench/booking.py on the suite's database: every booking goes through, and one
booking's statements do not grow with the office's sessions.

The bench books a series per new therapist; when it booked them all for one client, the
client-busy check (rightly) refused the second, and the bench printed an error instead of a
figure without anything failing. This keeps it running."""

from __future__ import annotations

import os

from bench import booking
from tests.support.scratch import scratch_database


def test_the_booking_bench_books_every_series() -> None:
    server = os.environ.get("TEST_DATABASE_URL") or "sqlite"
    with scratch_database(server, prefix="ipt_bench_booking") as url:
        found = booking.measure(url, existing=320, repeats=3)
    assert found["statements_constant"] is True
    assert found["statements_per_booking"] <= 12
    assert found["insert_statements_per_booking"] == 4
    assert found["ratio_to_raw_insert"] > 0
