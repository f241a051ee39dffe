"""Scratch databases for benchmarks: a temp SQLite file, or a PostgreSQL database created for the
run and dropped afterwards (BENCH_DATABASE_URL or TEST_DATABASE_URL names the server)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support import scratch


@contextmanager
def scratch_database(backend: str) -> Iterator[str]:
    """A URL for `backend`: "sqlite", or anything else for PostgreSQL on the named server."""
    if backend == "sqlite":
        target = "sqlite"
    else:
        target = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
            "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        )
    with scratch.scratch_database(target, prefix="ipt_bench") as url:
        yield url
