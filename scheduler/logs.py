"""Log lines for people (`text`) or for a log pipeline (`json`, one object a line: LOG_FORMAT).

Both carry the request id of the request being served, when there is one, so a worker's or a
view's line can be matched with the request's own line. Nothing here adds client data: the
request line names the route's template (``/api/v1/clients/<int:client_id>``), never the path
as asked or its query string, and no body is ever logged.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Set while a web request is served (web/observe.py).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# What a LogRecord carries on its own; everything else on it came from `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
QUIET = ("twilio", "apscheduler", "alembic", "urllib3")


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid is not None:
            out["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            # The type and where, not the message: exception texts can quote parameters.
            exc_type = record.exc_info[0]
            out["exc_type"] = exc_type.__name__ if exc_type else None
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [request {rid}]" if rid else line


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else _TextFormatter(TEXT_FORMAT)


def configure(fmt: str = "text", level: int = logging.INFO) -> None:
    """Our INFO lines to stderr in `fmt`; libraries only when something is wrong.

    Idempotent: a second call (another app in the same process, the worker after the CLI)
    changes the format of the one handler installed here instead of adding another.
    The twilio SDK logs every request at INFO, bodies included: message texts are client
    data and have no place in logs.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_ipt", False)]
    handler = ours[0] if ours else logging.StreamHandler()
    handler._ipt = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter(fmt))
    if not any(isinstance(f, _RequestId) for f in handler.filters):
        handler.addFilter(_RequestId())
    if not ours:
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
