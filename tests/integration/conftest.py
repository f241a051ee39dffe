"""Fixtures for the integration tests that run the dispatcher (helpers: dispatch_support).

A module that needs a different one defines its own of the same name, which wins.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from scheduler.sms.fake import FakeGateway
from scheduler.texts.send import Dispatcher
from tests.integration.dispatch_support import Clock


@pytest.fixture
def clock() -> Clock:
    # A Monday morning in Seattle (10:00), well inside the allowed window.
    return Clock(datetime(2027, 2, 15, 18, 0, tzinfo=UTC))


@pytest.fixture
def tctx(ctx, clock):
    # Pacing is tested on its own; elsewhere it would only slow the passes down.
    fast = replace(ctx.settings, sms_max_per_second=1000.0)
    return replace(ctx, settings=fast, clock=clock)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def dispatcher(container, tctx, gateway) -> Iterator[Dispatcher]:
    d = Dispatcher(container.sessions, tctx, gateway, worker_id="test-worker")
    yield d
    d.close()
