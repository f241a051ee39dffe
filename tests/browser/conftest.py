"""Debian's Chromium, driven by Playwright, against the app served on 127.0.0.1.

The app runs in a background thread with werkzeug's server, on a fresh SQLite file migrated
and seeded with the demo practice. Every page a test opens must log no console error.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from scheduler.config import Settings
from scheduler.db.migrate import upgrade
from scheduler.services.demo import seed_demo
from scheduler.services.directory import sync_offices
from scheduler.web import create_app
from scheduler.wiring import Container, build

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: install Debian's package (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class LiveApp:
    base: str
    container: Container
    settings: Settings

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    _need_chromium()
    holder: dict[str, Any] = {}

    def wsgi(environ: Any, start_response: Any) -> Any:
        # Each answer is read whole (and its file closed) before the server writes it: Chromium
        # drops connections mid-answer (the favicon, as a test moves on), which left a static
        # file open until garbage collection warned about it in whichever test ran then.
        answer = holder["app"](environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            if hasattr(answer, "close"):
                answer.close()

    # Bind first (port 0: any free port) so the public URL, which webhook signatures cover,
    # can name the real port.
    server: BaseWSGIServer = make_server("127.0.0.1", 0, wsgi, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    db_file = tmp_path_factory.mktemp("browser") / "app.sqlite3"
    settings = replace(
        Settings(),
        database_url=f"sqlite:///{db_file}",
        secret_key="browser-test-secret-key-0123456789",
        public_base_url=base,
        locations_file=ROOT / "locations.yaml",
        twilio_auth_token=TWILIO_TOKEN,
    )
    container = build(settings)
    upgrade(container.engine)
    with container.sessions.begin() as db:
        sync_offices(db, container.locations)
        seed_demo(db, container.ctx)
    app = create_app(container=container)
    app.config["DEMO_SIGN_IN"] = True
    holder["app"] = app
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    try:
        yield LiveApp(base, container, settings)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        container.close()


@pytest.fixture(scope="session")
def browser(live_app: LiveApp) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class ConsoleWatch:
    """Collects console errors and uncaught page errors of every page in a context."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page: Any) -> None:
        def on_console(msg: Any) -> None:
            if msg.type == "error":
                self.errors.append(f"{page.url}: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))


def _context(browser: Any, **kw: Any) -> Iterator[Any]:
    watch = ConsoleWatch()
    context = browser.new_context(**kw)
    context.on("page", watch.attach)
    try:
        yield context
    finally:
        context.close()
    assert not watch.errors, "browser console errors:\n" + "\n".join(watch.errors)


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    yield from _context(browser, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    yield from _context(
        browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
