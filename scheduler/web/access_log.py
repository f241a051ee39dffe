"""Access-log lines without secrets or health data, for gunicorn and the development server.

A request line is "GET /feeds/clients/<token>.ics" or "GET /clients?q=Hale": the first is a
credential (anyone with the URL reads the calendar), the second names a client. Both servers
write request lines (and gunicorn the Referer, which repeats the page's URL) to their access
log, so every target is redacted before it is written: token segments become `[token]` and
each query value becomes `[redacted]` (the names stay, so a log still says what was asked).
Request bodies are never logged by either server.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from werkzeug.serving import WSGIRequestHandler

# The routes whose path carries a secret: calendar feeds and one-time questionnaire links.
_TOKEN_PATHS = re.compile(r"^(/feeds/[a-z]+/)[^/]+?(\.ics)$|^(/m/)(?!thanks$)[^/]+$")


def redact_target(target: str) -> str:
    """A request target (path and query, or a full URL) fit for a log line."""
    if not target or target == "-":
        return target
    parts = urlsplit(target)
    path = _TOKEN_PATHS.sub(
        lambda m: f"{m[1]}[token]{m[2]}" if m[1] else f"{m[3]}[token]", parts.path
    )
    prefix = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    if not parts.query:
        return prefix + path
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return prefix + path + "?" + "&".join(f"{name}=[redacted]" for name in names)


def redact_request_line(line: str) -> str:
    """ "GET /clients?q=Hale HTTP/1.1" -> "GET /clients?q=[redacted] HTTP/1.1"."""
    pieces = line.split(" ")
    if len(pieces) == 3:
        pieces[1] = redact_target(pieces[1])
        return " ".join(pieces)
    return redact_target(line)


class RedactingRequestHandler(WSGIRequestHandler):
    """The development server's handler (`serve`), logging redacted request lines."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Werkzeug builds the line from `path` (and `requestline` when that fails).
        original = self.path, self.requestline
        self.path = redact_target(self.path)
        self.requestline = redact_request_line(self.requestline)
        try:
            super().log_request(code, size)
        finally:
            self.path, self.requestline = original


try:  # gunicorn runs on POSIX only; the dev server does not need it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object  # type: ignore[assignment,misc]


class GunicornLogger(_GunicornLogger):  # type: ignore[misc,valid-type]
    """gunicorn's logger with redacted access-log atoms (`--logger-class`, see the Procfile)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key, value in found.items():
            if not isinstance(value, str):
                continue
            if key == "r":
                found[key] = redact_request_line(value)
            elif key in _TARGETS:
                found[key] = redact_target(value)
            elif key in _QUERIES:
                found[key] = redact_target("?" + value)[1:] if value else value
            elif key in _SECRETS:
                found[key] = "[redacted]"
        return found


# gunicorn's atoms that hold a URL, a query string, or a credential, whatever the log format.
_TARGETS = frozenset(
    {"U", "f", "{referer}i", "{location}o", "{raw_uri}e", "{path_info}e", "{request_uri}e"}
    | {"{http_referer}e"}
)
_QUERIES = frozenset({"q", "{query_string}e"})
_SECRETS = frozenset(
    {"{authorization}i", "{cookie}i", "{set-cookie}o", "{http_authorization}e", "{http_cookie}e"}
)
