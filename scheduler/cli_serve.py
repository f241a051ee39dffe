"""What `serve` prints and which public address it assumes (kept out of cli.py)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from .config import Settings

if TYPE_CHECKING:
    from .wiring import Container


def served_settings(host: str, port: int) -> Settings:
    """Settings whose PUBLIC_BASE_URL, unless set, is the address this server answers on.

    Feed links and the URL Twilio signatures are checked against then name the port actually
    served (`serve --port 5077` gives http://127.0.0.1:5077), not the default 5000.
    """
    settings = Settings.from_env()
    if os.environ.get("PUBLIC_BASE_URL"):
        return settings
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"  # an IPv6 address in a URL
    return replace(settings, public_base_url=f"http://{shown}:{port}")


def demo_banner(token: str) -> str:
    """The demo's API token and the sign-in of each role."""
    from .services.demo import DEMO_PASSWORD, DEMO_SIGN_INS

    lines = [f"demo API token: {token}", f"demo sign-ins (password {DEMO_PASSWORD}):"]
    lines += [f"  {role:<11} {email}" for role, email in DEMO_SIGN_INS]
    return "\n".join(lines)


def run_server(container: Container, *, host: str, port: int, demo: bool) -> None:
    """Serve the app until stopped; on SQLite the worker runs in this process too."""
    from .web import create_app
    from .web.access_log import RedactingRequestHandler

    app = create_app(container=container)
    app.config["DEMO_SIGN_IN"] = demo  # the sign-in page shows the demo accounts only then
    background = None
    if container.settings.is_sqlite:  # the embedded default: one process does everything
        from .worker import build_scheduler

        background = build_scheduler(container, blocking=False)
        background.start()
        click.echo("texts: the worker runs inside this process")
    public = container.settings.public_base_url
    click.echo(f"serving on http://{host}:{port}/ (public base URL {public})")
    try:
        # Request lines are logged redacted: no feed tokens, no search terms (access_log).
        app.run(
            host=host,
            port=port,
            threaded=True,
            use_reloader=False,
            request_handler=RedactingRequestHandler,
        )
    finally:
        if background is not None:
            background.shutdown()
