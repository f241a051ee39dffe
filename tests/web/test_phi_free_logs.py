"""No health data in logs: a database error does not print a client's name, and access-log lines
(gunicorn's and the development server's) carry neither feed tokens nor search terms."""

from __future__ import annotations

import ast
import contextlib
import logging
import threading
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event
from werkzeug.serving import make_server

from scheduler.db.session import make_engine
from scheduler.web import errors
from scheduler.web.access_log import GunicornLogger, RedactingRequestHandler, redact_target
from scheduler.web.errors import exception_summary as summary

NAME = "Zebulon"
SURNAME = "Quartermaine"


def _all_lines(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


def test_a_database_error_never_logs_the_clients_name(api, engine, caplog, monkeypatch):
    # A real error from the database while it holds the client's name as a statement
    # parameter: the INSERT is sent to a table that does not exist.
    def missing_table(conn: Any, cursor: Any, statement: str, *rest: Any) -> tuple[str, Any]:
        return statement.replace("INSERT INTO clients ", "INSERT INTO clients_gone "), rest[0]

    event.listen(engine, "before_cursor_execute", missing_table, retval=True)
    caplog.set_level(logging.INFO)
    raised: list[BaseException] = []

    def keep(exc: BaseException) -> str:
        raised.append(exc)
        return summary(exc)

    monkeypatch.setattr(errors, "exception_summary", keep)
    try:
        response = api.post(
            "/clients",
            {
                "first_name": NAME,
                "last_name": SURNAME,
                "phone": "(206) 555-0199",
                "home_location_id": "seattle",
                "sms_consent": True,
            },
        )
    finally:
        event.remove(engine, "before_cursor_execute", missing_table)
    assert response.status_code == 500
    assert NAME not in response.text
    logged = _all_lines(caplog)
    assert "unhandled error on POST /api/v1/clients" in logged  # the error was logged...
    assert NAME not in logged and SURNAME not in logged  # ...without the name
    assert "+12065550199" not in logged
    # Whatever else might print the error: its text has the statement but not the values.
    assert len(raised) == 1 and "clients_gone" in str(raised[0])
    assert NAME not in str(raised[0])


def test_every_engine_hides_statement_parameters(database_url):
    engine = make_engine(database_url)
    try:
        assert engine.hide_parameters is True
    finally:
        engine.dispose()
    # Any engine made elsewhere (bench/, tests, a CLI command) says so itself.
    root = Path(__file__).resolve().parents[2]
    for folder in ("scheduler", "bench", "tests"):
        for path in (root / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "create_engine":
                    keywords = {k.arg for k in node.keywords}
                    assert keywords & {"hide_parameters", None}, f"{path}:{node.lineno}"


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("/feeds/clients/abcDEF123_-xyz.ics", "/feeds/clients/[token].ics"),
        ("/feeds/therapists/abc.ics?x=1", "/feeds/therapists/[token].ics?x=[redacted]"),
        ("/m/Zq9-token", "/m/[token]"),
        ("/m/thanks", "/m/thanks"),
        ("/clients?q=Hale&go=1", "/clients?q=[redacted]&go=[redacted]"),
        ("/book/phone?phone=2065550142", "/book/phone?phone=[redacted]"),
        ("https://ipt.test/clients?q=Hale", "https://ipt.test/clients?q=[redacted]"),
        ("/sessions/12", "/sessions/12"),
    ],
)
def test_targets_are_redacted(target, shown):
    assert redact_target(target) == shown


def test_the_procfile_gunicorn_uses_the_redacting_logger():
    root = Path(__file__).resolve().parents[2]
    assert "-c python:scheduler.gunicorn_conf" in (root / "Procfile").read_text()
    conf = ast.parse((root / "scheduler" / "gunicorn_conf.py").read_text())
    settings = {
        target.id: node.value.value
        for node in conf.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert settings["logger_class"] == "scheduler.web.access_log.GunicornLogger"


def test_gunicorn_access_lines_carry_no_token_search_or_credentials():
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("accesslog", None)
    logger = GunicornLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/clients?q=Quartermaine",
        "PATH_INFO": "/clients",
        "QUERY_STRING": "q=Quartermaine",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_REFERER": "https://ipt.test/feeds/clients/s3cretTOKEN.ics",
        "HTTP_COOKIE": "session=s3cretCOOKIE",
    }
    request = SimpleNamespace(headers=[("Referer", environ["HTTP_REFERER"]), ("Cookie", "x")])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))
    line = cfg.access_log_format % atoms + " " + " ".join(str(v) for v in atoms.values())
    assert "Quartermaine" not in line and "s3cret" not in line
    assert "GET /clients?q=[redacted] HTTP/1.1" in line
    assert "/feeds/clients/[token].ics" in line


def test_dev_server_access_lines_carry_no_token_or_search(app, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make_server("127.0.0.1", 0, app, request_handler=RedactingRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        for path in ("/clients?q=Quartermaine", "/feeds/clients/s3cretTOKEN.ics"):
            # A redirect to sign-in or a 404: the log line is what matters.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(base + path, timeout=10).close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    logged = _all_lines(caplog)
    assert "/clients?q=[redacted]" in logged and "/feeds/clients/[token].ics" in logged
    assert "Quartermaine" not in logged and "s3cret" not in logged
