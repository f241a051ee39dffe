"""What `serve` prints and which public address it assumes (kept out of cli.py)."""

from __future__ import annotations

import os
from dataclasses import replace

from .config import Settings


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
