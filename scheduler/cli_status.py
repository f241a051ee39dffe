"""`ipt-scheduler status`: what /readyz says, for the engineer at a shell."""

from __future__ import annotations

import json

from .services.readiness import check
from .wiring import Container


def readiness_report(container: Container) -> tuple[str, bool]:
    """The readiness JSON (indented) and whether the deployment is ready."""
    with container.sessions() as session:
        state = check(
            session,
            now=container.clock(),
            dispatch_interval_seconds=container.settings.dispatch_interval_seconds,
        )
    return json.dumps(state.as_dict(), indent=2), state.ready
