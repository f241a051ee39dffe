"""The SMS backends: console, fake, the fake Twilio server, and TwilioGateway against it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.sms.console import ConsoleGateway
from scheduler.sms.fake import FakeGateway
from scheduler.sms.gateway import (
    OutboundSms,
    SmsError,
    SmsOutcomeUnknown,
    classify_twilio_error,
)
from scheduler.sms.twilio import RebasedHttpClient, TwilioGateway, verify_twilio_signature
from scheduler.wiring import build_gateway
from tests.support.fake_twilio_server import FakeTwilioServer

REPO = Path(__file__).resolve().parents[2]
ACCOUNT_SID = "AC" + "ab" * 16
SID_SHAPE = re.compile(r"^SM[0-9a-f]{32}$")
OFFICE = "+15205550100"  # a Tucson-style sender


def sms(
    to: str = "+15205550111",
    body: str = "See you Tue 4:00 PM MST",
    *,
    from_number: str | None = OFFICE,
    messaging_service_sid: str | None = None,
    status_callback: str | None = None,
    validity_period_s: int | None = None,
) -> OutboundSms:
    return OutboundSms(
        to=to,
        body=body,
        from_number=from_number,
        messaging_service_sid=messaging_service_sid,
        status_callback=status_callback,
        validity_period_s=validity_period_s,
    )


# -- the port's own rules -------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (20429, 429, "retry"),
        (None, 429, "retry"),
        (20429, None, "retry"),
        (None, 500, "retry"),
        (20500, 503, "retry"),
        (21610, 400, "opted_out"),
        (21211, 400, "undeliverable"),
        (21614, 400, "undeliverable"),
        (30003, None, "retry_limited"),
        (30004, None, "undeliverable"),
        (30005, None, "undeliverable"),
        (30006, None, "undeliverable"),
        (30007, None, "attention"),
        (30008, None, "retry_limited"),
        (21602, 400, "fail"),
        (20003, 401, "fail"),
        (None, 404, "fail"),
        (None, None, "fail"),
    ],
)
def test_classify_twilio_error(code: int | None, status: int | None, expected: str) -> None:
    assert classify_twilio_error(code, status) == expected


def test_sms_error_retryable_follows_the_classification_unless_given() -> None:
    assert SmsError(code=20429, status=429).retryable is True
    assert SmsError(code=30003).retryable is True
    assert SmsError(code=21610, status=400).retryable is False
    assert SmsError(code=21610, status=400).kind == "opted_out"
    assert SmsError("refused", retryable=True).retryable is True
    assert "21211" in str(SmsError(code=21211))


def test_outbound_sms_clamps_validity_and_rejects_non_e164() -> None:
    assert sms(validity_period_s=0).validity_period_s == 1
    assert sms(validity_period_s=99_999).validity_period_s == 36000
    assert sms(validity_period_s=600).validity_period_s == 600
    assert sms().validity_period_s is None
    with pytest.raises(ValueError, match="to"):
        sms(to="520-555-0111")
    with pytest.raises(ValueError, match="from_number"):
        sms(from_number="5205550100")


@dataclass
class _Settings:
    sms_backend: str
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None
    twilio_timeout_seconds: float = 10.0


def test_build_gateway_picks_the_backend() -> None:
    assert isinstance(build_gateway(_Settings("console")), ConsoleGateway)
    twilio = build_gateway(_Settings("twilio", ACCOUNT_SID, "t", None, "http://127.0.0.1:9"))
    assert isinstance(twilio, TwilioGateway)
    twilio.close()
    with pytest.raises(ValueError, match="twilio_account_sid"):
        build_gateway(_Settings("twilio"))
    with pytest.raises(ValueError, match="sms_backend"):
        build_gateway(_Settings("carrier-pigeon"))


def test_only_the_twilio_backend_imports_twilio() -> None:
    # The composition root picks the backend; with the console one, twilio never loads.
    code = (
        "import sys, scheduler.sms, scheduler.sms.console, scheduler.sms.fake, "
        "tests.support.fake_twilio_server, scheduler.wiring; "
        "from scheduler.config import Settings; scheduler.wiring.build_gateway(Settings()); "
        "print('twilio' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    pattern = re.compile(r"^\s*(import twilio|from twilio[ .])", re.MULTILINE)
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "scheduler").rglob("*.py")
        if pattern.search(path.read_text()) and path != REPO / "scheduler/sms/twilio.py"
    ]
    assert offenders == []


def test_rebased_client_points_every_twilio_host_at_the_base_url() -> None:
    client = RebasedHttpClient("http://127.0.0.1:4010/mock/")
    assert (
        client.rebase("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B1")
        == "http://127.0.0.1:4010/mock/2010-04-01/Accounts/AC1/Messages.json?To=%2B1"
    )
    assert client.rebase("https://messaging.twilio.com/v1/Services") == (
        "http://127.0.0.1:4010/mock/v1/Services"
    )
    assert client.rebase("https://example.org/x") == "https://example.org/x"
    with pytest.raises(ValueError):
        RebasedHttpClient("127.0.0.1:4010")


def test_verify_twilio_signature_against_an_independent_hmac() -> None:
    url = "https://ipt.example.org/webhooks/twilio/inbound?office=tucson"
    params = {"From": "+15205550111", "Body": "C", "To": OFFICE, "MessageSid": "SM" + "a" * 32}
    signed = url + "".join(k + params[k] for k in sorted(params))
    good = base64.b64encode(hmac.new(b"secret", signed.encode(), hashlib.sha1).digest()).decode()
    assert verify_twilio_signature("secret", url, params, good) is True
    assert verify_twilio_signature("other", url, params, good) is False
    assert verify_twilio_signature("secret", url, {**params, "Body": "STOP"}, good) is False
    assert verify_twilio_signature("secret", url, params, "") is False


# -- console --------------------------------------------------------------------------


def test_console_prints_and_remembers() -> None:
    out = io.StringIO()
    gateway = ConsoleGateway(out)
    before = datetime.now(UTC) - timedelta(seconds=1)
    first = gateway.send(sms(body="hello"))
    gateway.send(
        sms(
            to="+15205550122", body="other", from_number=None, messaging_service_sid="MG" + "0" * 32
        )
    )
    assert out.getvalue().splitlines() == [
        f"SMS to +15205550111 from {OFFICE}: hello",
        f"SMS to +15205550122 from MG{'0' * 32}: other",
    ]
    assert SID_SHAPE.match(first.sid)
    listed = gateway.list_sent(to="+15205550111", since=before)
    assert [r.sid for r in listed] == [first.sid]
    assert listed[0].body == "hello"
    assert gateway.list_sent(to="+15205550111", since=datetime.now(UTC) + timedelta(1)) == []
    with pytest.raises(ValueError):
        gateway.list_sent(to="+15205550111", since=datetime(2026, 1, 1))  # naive


def test_console_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleGateway().send(sms(body="to stdout"))
    assert "SMS to +15205550111" in capsys.readouterr().out


# -- fake -----------------------------------------------------------------------------


def test_fake_fails_the_next_n_sends_then_recovers() -> None:
    fake = FakeGateway()
    fake.fail_next(SmsError(code=20429, status=429), times=2)
    for _ in range(2):
        with pytest.raises(SmsError) as info:
            fake.send(sms())
        assert info.value.code == 20429 and info.value.retryable
    assert SID_SHAPE.match(fake.send(sms()).sid)
    assert fake.attempts == 3
    assert len(fake.sent) == 1


def test_fake_fails_for_one_number_only() -> None:
    fake = FakeGateway()
    fake.fail_for("+15205550199", SmsError(code=21610, status=400))
    fake.send(sms(to="+15205550111"))
    for _ in range(3):
        with pytest.raises(SmsError):
            fake.send(sms(to="+15205550199"))
    assert [m.to for m in fake.messages] == ["+15205550111"]
    fake.clear_failures()
    fake.send(sms(to="+15205550199"))
    assert len(fake.sent_to("+15205550199")) == 1


def test_fake_outcome_unknown_can_leave_a_message_behind() -> None:
    fake = FakeGateway()
    since = datetime.now(UTC) - timedelta(seconds=1)
    fake.fail_next(SmsOutcomeUnknown("read timeout"), delivered=True)
    fake.fail_next(SmsOutcomeUnknown("connect reset"))
    with pytest.raises(SmsOutcomeUnknown):
        fake.send(sms(body="first"))
    with pytest.raises(SmsOutcomeUnknown):
        fake.send(sms(body="second"))
    assert [r.body for r in fake.list_sent(to="+15205550111", since=since)] == ["first"]
    with pytest.raises(ValueError):
        fake.fail_next(SmsError(code=21610), delivered=True)


def test_fake_is_thread_safe_under_latency() -> None:
    fake = FakeGateway(latency=0.001)
    fake.fail_next(SmsError(code=20429), times=5)
    numbers = [f"+1520555{n:04d}" for n in range(4)]

    def worker(i: int) -> int:
        failures = 0
        for j in range(25):
            try:
                fake.send(sms(to=numbers[(i + j) % 4]))
            except SmsError:
                failures += 1
        return failures

    with ThreadPoolExecutor(max_workers=8) as pool:
        failures = sum(pool.map(worker, range(8)))
    assert failures == 5
    assert fake.attempts == 200
    assert len({r.sid for r in fake.sent}) == 195


# -- the fake Twilio server, and TwilioGateway against it -----------------------------


@pytest.fixture
def server() -> Iterator[FakeTwilioServer]:
    with FakeTwilioServer() as srv:
        yield srv


@pytest.fixture
def gateway(server: FakeTwilioServer) -> Iterator[TwilioGateway]:
    gw = TwilioGateway(ACCOUNT_SID, "token", api_base_url=server.url, timeout=5)
    yield gw
    gw.close()


def test_twilio_gateway_sends_through_the_fake_server(
    server: FakeTwilioServer, gateway: TwilioGateway
) -> None:
    result = gateway.send(
        sms(status_callback="https://x.example/cb", validity_period_s=600, body="Hi")
    )
    assert SID_SHAPE.match(result.sid) and result.status == "queued"
    [stored] = server.messages()
    assert (stored["to"], stored["from"], stored["body"]) == ("+15205550111", OFFICE, "Hi")
    assert server.counts() == {"+15205550111": 1}


def test_fake_server_counts_concurrent_clients_exactly(server: FakeTwilioServer) -> None:
    numbers = [f"+1602555{n:04d}" for n in range(3)]
    per_thread = 10

    def client(i: int) -> None:
        # One gateway per thread, as separate worker processes would have.
        gw = TwilioGateway(ACCOUNT_SID, "token", api_base_url=server.url, timeout=10)
        try:
            for j in range(per_thread):
                gw.send(sms(to=numbers[j % 3], body=f"t{i} m{j}"))
        finally:
            gw.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # j % 3 picks the number: 4 + 3 + 3 sends per thread.
    expected = {numbers[0]: 4 * 8, numbers[1]: 3 * 8, numbers[2]: 3 * 8}
    assert server.counts() == expected
    with urllib.request.urlopen(f"{server.url}/_counts", timeout=5) as response:
        assert json.loads(response.read()) == {"counts": expected, "total": 80}


def test_list_sent_pages_newest_first_and_stops_early(
    server: FakeTwilioServer, gateway: TwilioGateway
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    for i in range(60):  # more than one page of 50
        gateway.send(sms(body=f"#{i}"))
    gateway.send(sms(to="+15205550999", body="someone else"))
    records = gateway.list_sent(to="+15205550111", since=since)
    assert [r.body for r in records] == [f"#{i}" for i in reversed(range(60))]
    assert all(
        r.date_created is not None and r.date_created >= since - timedelta(seconds=1)
        for r in records
    )
    seen = server.requests_seen
    assert gateway.list_sent(to="+15205550111", since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert server.requests_seen == seen + 1, "a page with nothing recent must end the walk"


def test_twilio_error_code_becomes_sms_error(
    server: FakeTwilioServer, gateway: TwilioGateway
) -> None:
    server.fail_to("+15205550111", status=400, code=21610)
    with pytest.raises(SmsError) as info:
        gateway.send(sms())
    assert (info.value.code, info.value.status) == (21610, 400)
    assert info.value.kind == "opted_out" and info.value.retryable is False
    assert server.counts() == {}


def test_server_error_to_a_send_is_outcome_unknown(
    server: FakeTwilioServer, gateway: TwilioGateway
) -> None:
    # Twilio may have created the message before it failed to answer: reconcile, never resend.
    server.fail_to("+15205550111", status=503, code=20503, message="busy", times=1)
    with pytest.raises(SmsOutcomeUnknown):
        gateway.send(sms())
    gateway.send(sms())  # the scripted error was used up
    assert server.counts() == {"+15205550111": 1}


def test_timeout_after_sending_is_outcome_unknown_and_reconcilable(
    server: FakeTwilioServer,
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    server.latency = 1.5
    gw = TwilioGateway(ACCOUNT_SID, "token", api_base_url=server.url, timeout=0.3)
    try:
        with pytest.raises(SmsOutcomeUnknown):
            gw.send(sms(body="late reply"))
        # The message was accepted before the reply stalled: reconciliation finds it.
        [found] = gw.list_sent(to="+15205550111", since=since)
        assert found.body == "late reply"
    finally:
        gw.close()


def test_connection_refused_is_a_retryable_error_not_unknown() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gw = TwilioGateway(ACCOUNT_SID, "token", api_base_url=f"http://127.0.0.1:{port}", timeout=2)
    try:
        with pytest.raises(SmsError) as info:
            gw.send(sms())
        assert info.value.retryable is True
        with pytest.raises(SmsError):
            gw.list_sent(to="+15205550111", since=datetime.now(UTC))
    finally:
        gw.close()


def test_send_without_any_sender_is_refused_before_the_network(
    server: FakeTwilioServer, gateway: TwilioGateway
) -> None:
    with pytest.raises(SmsError) as info:
        gateway.send(sms(from_number=None))
    assert info.value.retryable is False
    assert server.requests_seen == 0
    with_default = TwilioGateway(
        ACCOUNT_SID,
        "token",
        api_base_url=server.url,
        default_messaging_service_sid="MG" + "1" * 32,
    )
    try:
        with_default.send(sms(from_number=None))
    finally:
        with_default.close()
    assert server.messages()[0]["messaging_service_sid"] == "MG" + "1" * 32


def test_fake_server_rejects_missing_to_and_bad_auth(server: FakeTwilioServer) -> None:
    url = f"{server.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:token".encode()).decode()
    for headers, expected_status, expected_code in [
        ({}, 401, 20003),
        ({"Authorization": auth}, 400, 21604),
    ]:
        request = urllib.request.Request(
            url, data=b"Body=x&From=%2B15205550100", headers=headers, method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        with info.value as response:
            assert response.status == expected_status
            assert json.loads(response.read())["code"] == expected_code
    assert server.counts() == {}


def test_fake_server_cli_prints_its_url_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_twilio_server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        gw = TwilioGateway(ACCOUNT_SID, "token", api_base_url=url, timeout=5)
        gw.send(sms())
        gw.close()
        with urllib.request.urlopen(f"{url}/_counts", timeout=5) as response:
            assert json.loads(response.read())["total"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
