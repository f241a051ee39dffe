"""A tiny stand-in for Twilio's Messages API, for tests and benchmarks on loopback.

It accepts POST and GET on /2010-04-01/Accounts/{AccountSid}/Messages.json, counts
accepted sends per To number (readable from another process at GET /_counts), and
can answer slowly or with scripted Twilio errors. Standard library only.

Run it on its own:  python -m tests.support.fake_twilio_server --port 0 --latency 0.05
It prints its base URL on the first line of stdout and serves until interrupted.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import re
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json$")
_MAX_BODY_BYTES = 64 * 1024


@dataclass
class _ScriptedError:
    status: int
    code: int
    message: str
    remaining: int | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is a case we stage on purpose; only
        # report what is not a dropped connection.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeTwilioServer:
    """Owns the HTTP server thread and the state the handler reads and writes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, latency: float = 0.0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the fake Twilio server only listens on loopback addresses")
        self.latency = latency
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._counts: Counter[str] = Counter()
        self._errors: dict[str, _ScriptedError] = {}
        self.requests_seen = 0
        self._httpd = _Server((host, port), _Handler)
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeTwilioServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwilioServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting and inspection ---------------------------------------------------

    def fail_to(
        self,
        to: str,
        *,
        status: int = 400,
        code: int = 21610,
        message: str = "Attempt to send to unsubscribed recipient",
        times: int | None = None,
    ) -> None:
        """Answer sends to `to` with a Twilio error, `times` times or (None) until reset."""
        with self._lock:
            self._errors[to] = _ScriptedError(status, code, message, times)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    @property
    def total_sends(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._messages]

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._counts.clear()
            self._errors.clear()
            self.requests_seen = 0

    # -- used by the handler ----------------------------------------------------------

    def _accept(self, account_sid: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        to = form.get("To", "")
        if not to:
            return 400, _error(21604, "A 'To' phone number is required.", 400)
        if not form.get("Body"):
            return 400, _error(21602, "Message body is required.", 400)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 400, _error(21603, "A 'From' phone number is required.", 400)
        with self._lock:
            scripted = self._errors.get(to)
            if scripted is not None:
                if scripted.remaining is not None:
                    scripted.remaining -= 1
                    if scripted.remaining <= 0:
                        del self._errors[to]
                return scripted.status, _error(scripted.code, scripted.message, scripted.status)
            now = format_datetime(datetime.now(UTC))
            message = {
                "account_sid": account_sid,
                "api_version": "2010-04-01",
                "body": form["Body"],
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": "SM" + uuid.uuid4().hex,
                "status": "queued",
                "to": to,
            }
            message["uri"] = f"/2010-04-01/Accounts/{account_sid}/Messages/{message['sid']}.json"
            self._messages.append(message)
            self._counts[to] += 1
        return 201, message

    def _list(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        page_size = max(1, min(1000, int(query.get("PageSize", "50"))))
        page = max(0, int(query.get("Page", "0")))
        with self._lock:
            # Newest first, as Twilio lists messages.
            matching = [
                dict(m)
                for m in reversed(self._messages)
                if ("To" not in query or m["to"] == query["To"])
                and ("From" not in query or m["from"] == query["From"])
            ]
        chunk = matching[page * page_size : (page + 1) * page_size]
        base = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def uri(n: int) -> str:
            return f"{path}?{urlencode({**base, 'PageSize': page_size, 'Page': n})}"

        has_next = (page + 1) * page_size < len(matching)
        return {
            "messages": chunk,
            "start": page * page_size,
            "end": page * page_size + max(0, len(chunk) - 1),
            "page": page,
            "page_size": page_size,
            "uri": uri(page),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if has_next else None,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
        }


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's pooled session expects
    # Headers and body go out in two writes; with Nagle on, the second waits for a
    # delayed ACK (~40 ms a request on Linux), which would swamp any latency measured.
    disable_nagle_algorithm = True
    server: ThreadingHTTPServer

    @property
    def fake(self) -> FakeTwilioServer:
        return self.server.fake  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown test and benchmark output

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_form(self) -> dict[str, str] | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY_BYTES:
            return None
        raw = self.rfile.read(length).decode("utf-8", "replace")
        return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    def _authorised(self, account_sid: str) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        except ValueError:
            return False
        return user == account_sid

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        with self.fake._lock:
            self.fake.requests_seen += 1
        if parts.path == "/_reset":
            self.fake.reset()
            self._reply(200, {"ok": True})
            return
        match = _MESSAGES_PATH.match(parts.path)
        if match is None:
            self._reply(404, _error(20404, "The requested resource was not found", 404))
            return
        form = self._read_form()
        if form is None:
            self._reply(413, _error(20001, "Request body too large", 413))
            return
        if not self._authorised(match.group(1)):
            self._reply(401, _error(20003, "Authenticate", 401))
            return
        status, payload = self.fake._accept(match.group(1), form)
        # The message is recorded before the delay: a client that times out now has
        # really sent it, which is the case reconciliation exists for.
        if self.fake.latency > 0:
            time.sleep(self.fake.latency)
        self._reply(status, payload)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        with self.fake._lock:
            self.fake.requests_seen += 1
        if parts.path == "/_counts":
            counts = self.fake.counts()
            self._reply(200, {"counts": counts, "total": sum(counts.values())})
            return
        match = _MESSAGES_PATH.match(parts.path)
        if match is None:
            self._reply(404, _error(20404, "The requested resource was not found", 404))
            return
        if not self._authorised(match.group(1)):
            self._reply(401, _error(20003, "Authenticate", 401))
            return
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            payload = self.fake._list(parts.path, query)
        except ValueError:
            self._reply(400, _error(20001, "Invalid paging parameter", 400))
            return
        self._reply(200, payload)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each send reply")
    args = parser.parse_args(argv)
    server = FakeTwilioServer(args.host, args.port, latency=args.latency)
    print(server.url, flush=True)
    try:
        server._httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
