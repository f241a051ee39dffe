"""A tiny stand-in for Twilio's Messages API, for tests and benchmarks on loopback.

It accepts POST and GET on /2010-04-01/Accounts/{AccountSid}/Messages.json, counts
accepted sends per To number (readable from another process at GET /_counts), and
can answer slowly or with scripted Twilio errors. Standard library only.

Faults (`FAULTS`), scripted one at a time with `fail_next` or injected into a chosen
fraction of calls with `inject`:

    429             20429 with Retry-After; not accepted
    500             accepted, then answered 500 (the outcome the client sees is unknown)
    503             not accepted, answered 503 (unknown to the client too)
    timeout         accepted, then no answer until after the client's timeout (`hang`)
    reset           the connection is reset before the request is read; not accepted
    refused         an outage: the listener closes for `outage` seconds (new connections
                    are refused, open ones are cut); this request is cut too, not accepted
    duplicate_sid   accepted, answered with the SID of the previous accepted message
    21610 21614 21211   a Twilio error for the To number; not accepted
    list_429 list_500   a page of the Messages list fails (GET)

`messages()` is the server's own record of every accepted send, whatever the client heard.

Run it on its own:  python -m tests.support.fake_twilio_server --port 0 --latency 0.05
It prints its base URL on the first line of stdout and serves until interrupted.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ipaddress
import json
import random
import re
import socket
import struct
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json$")
_MAX_BODY_BYTES = 64 * 1024
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


SEND_FAULTS = (
    "429",
    "500",
    "503",
    "timeout",
    "reset",
    "refused",
    "duplicate_sid",
    "21610",
    "21614",
    "21211",
)
LIST_FAULTS = ("list_429", "list_500")
FAULTS = SEND_FAULTS + LIST_FAULTS
_CODE_ERRORS = {
    "21610": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "21614": (400, 21614, "'To' number is not a valid mobile number"),
    "21211": (400, 21211, "Invalid 'To' Phone Number"),
}


@dataclass
class _ScriptedError:
    status: int
    code: int
    message: str
    remaining: int | None


@dataclass
class FaultPlan:
    """Which faults to inject, into what fraction of calls, and how they behave."""

    rate: float = 0.0
    faults: tuple[str, ...] = FAULTS
    seed: int | None = None
    retry_after: int = 1  # seconds, on a 429
    hang: float = 2.0  # seconds a "timeout" holds the reply (longer than the client waits)
    outage: float = 0.3  # seconds a "refused" keeps the listener closed
    # Relative weights of the faults (default 1 each): an outage refuses every call while it
    # lasts, so a run may want fewer of them than of the others.
    weights: dict[str, float] = field(default_factory=dict)
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        unknown = (set(self.faults) | set(self.weights)) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        self._random = random.Random(self.seed)

    def draw(self, kinds: tuple[str, ...]) -> str | None:
        """A fault for this call, or None; the caller holds the server's lock."""
        choices = [f for f in self.faults if f in kinds]
        if not choices or self._random.random() >= self.rate:
            return None
        weights = [self.weights.get(f, 1.0) for f in choices]
        fault = self._random.choices(choices, weights)[0]
        self.injected[fault] += 1
        return fault


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.live: set[socket.socket] = set()
        self.live_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.live_lock:
            self.live.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.live_lock:
            self.live.discard(request)
        super().shutdown_request(request)

    def cut_all(self) -> None:
        """Cut every open connection (an outage: clients must connect again)."""
        with self.live_lock:
            live = list(self.live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is a case we stage on purpose; only
        # report what is not a dropped connection.
        if not isinstance(sys.exc_info()[1], OSError):
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
        self._next_faults: list[str] = []
        self.plan = FaultPlan()
        self.requests_seen = 0
        self.outages = 0
        self._down = False
        self._httpd = self._bind((host, port))
        self._address = self._httpd.server_address[:2]
        self._thread: threading.Thread | None = None

    def _bind(self, address: tuple[Any, ...]) -> _Server:
        httpd = _Server(address, _Handler)
        httpd.fake = self  # type: ignore[attr-defined]
        return httpd

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
        self._wait_until_up()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.cut_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- outages --------------------------------------------------------------------

    def outage(self, seconds: float) -> None:
        """Stop listening for `seconds` (connections are refused), cutting open ones.

        The listener is closed before this returns, so a client that sees the call which
        caused it fail finds the port closed too.
        """
        with self._lock:
            if self._down:
                return
            self._down = True
            self.outages += 1
        old = self._httpd
        old.shutdown()  # serve_forever runs in its own thread, never a handler's
        old.server_close()
        old.cut_all()
        threading.Thread(target=self._come_back, args=(seconds,), daemon=True).start()

    def _come_back(self, seconds: float) -> None:
        time.sleep(seconds)
        for _ in range(50):  # the port is ours; rebinding only waits for the kernel
            try:
                self._httpd = self._bind(self._address)
                break
            except OSError:
                time.sleep(0.02)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        with self._lock:
            self._down = False

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 10
        while self._down and time.monotonic() < deadline:
            time.sleep(0.01)

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

    def fail_next(self, fault: str, times: int = 1) -> None:
        """Answer the next `times` calls of the fault's kind (send or list) with `fault`."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            self._next_faults.extend([fault] * times)

    def inject(self, rate: float, faults: tuple[str, ...] = FAULTS, **options: Any) -> FaultPlan:
        """Fault a `rate` fraction of calls, each with one of `faults` (see FaultPlan)."""
        with self._lock:
            self.plan = FaultPlan(rate=rate, faults=faults, **options)
            return self.plan

    def injected(self) -> dict[str, int]:
        with self._lock:
            return dict(self.plan.injected)

    def _fault_for(self, kinds: tuple[str, ...]) -> str | None:
        with self._lock:
            for i, fault in enumerate(self._next_faults):
                if fault in kinds:
                    del self._next_faults[i]
                    self.plan.injected[fault] += 1
                    return fault
            return self.plan.draw(kinds)

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
            self._next_faults.clear()
            self.plan = FaultPlan()
            self.requests_seen = 0

    # -- used by the handler ----------------------------------------------------------

    def _accept(
        self, account_sid: str, form: dict[str, str], *, repeat_sid: bool = False
    ) -> tuple[int, dict[str, Any]]:
        to = form.get("To", "")
        if not to:
            return 400, _error(21604, "A 'To' phone number is required.", 400)
        if not form.get("Body"):
            return 400, _error(21602, "Message body is required.", 400)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 400, _error(21603, "A 'From' phone number is required.", 400)
        if not E164.match(to):
            return 400, _error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
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
                "sid": self._messages[-1]["sid"]
                if repeat_sid and self._messages
                else "SM" + uuid.uuid4().hex,
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

    def _reply(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _cut(self) -> None:
        """Drop the connection with a reset, before reading the request."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def _send_fault(self, fault: str, account_sid: str, form: dict[str, str]) -> None:
        fake = self.fake
        if fault == "429":
            payload = _error(20429, "Too Many Requests", 429)
            self._reply(429, payload, {"Retry-After": str(fake.plan.retry_after)})
        elif fault == "500":
            fake._accept(account_sid, form)  # accepted: the client must not resend blindly
            self._reply(500, _error(20500, "Internal Server Error", 500))
        elif fault == "503":
            self._reply(503, _error(20503, "Service Unavailable", 503))
        elif fault == "timeout":
            fake._accept(account_sid, form)
            time.sleep(fake.plan.hang)
            self.close_connection = True
            self._reply(201, {"note": "too late: the client has given up"})
        elif fault == "duplicate_sid":
            self._reply(*fake._accept(account_sid, form, repeat_sid=True))
        else:  # a Twilio error code for this number
            status, code, message = _CODE_ERRORS[fault]
            self._reply(status, _error(code, message, status))

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
        fault = self.fake._fault_for(SEND_FAULTS)
        if fault in ("reset", "refused"):
            if fault == "refused":
                self.fake.outage(self.fake.plan.outage)
            self._cut()
            return
        form = self._read_form()
        if form is None:
            self._reply(413, _error(20001, "Request body too large", 413))
            return
        if not self._authorised(match.group(1)):
            self._reply(401, _error(20003, "Authenticate", 401))
            return
        if fault is not None:
            self._send_fault(fault, match.group(1), form)
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
        fault = self.fake._fault_for(LIST_FAULTS)
        if fault == "list_429":
            headers = {"Retry-After": str(self.fake.plan.retry_after)}
            self._reply(429, _error(20429, "Too Many Requests", 429), headers)
            return
        if fault == "list_500":
            self._reply(500, _error(20500, "Internal Server Error", 500))
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
    parser.add_argument("--fault-rate", type=float, default=0.0, help="fraction of calls to fault")
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma-separated fault names")
    args = parser.parse_args(argv)
    server = FakeTwilioServer(args.host, args.port, latency=args.latency)
    if args.fault_rate:
        server.inject(args.fault_rate, tuple(f for f in args.faults.split(",") if f))
    print(server.url, flush=True)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
