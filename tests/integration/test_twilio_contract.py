"""TwilioGateway against Prism mocking Twilio's own OpenAPI description.

Prism validates every request against the description: a request that does not
match gets a 422, which TwilioGateway raises as SmsError, so these tests fail
whenever the gateway drifts from Twilio's contract.

Two Prism processes run. The strict one (--errors) also fails responses that do
not match the description. Twilio's list example does not (its page URIs are
relative paths while the schema says format "uri"), so listing runs against a
second Prism without --errors; its requests are still validated (422 if wrong).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.sms.gateway import OutboundSms, SmsError
from scheduler.sms.twilio import TwilioGateway

# Worker and web processes read the machine's clock: so does the test that seeds them.
pytestmark = [pytest.mark.contract, pytest.mark.real_clock]

REPO = Path(__file__).resolve().parents[2]
PRISM = REPO / "node_modules" / ".bin" / "prism"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "contract-test-token"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
STARTUP_TIMEOUT_S = 90


def spec_path() -> Path:
    override = os.environ.get("TWILIO_OAI_SPEC")
    if override:
        return Path(override)
    # CI runs in a fresh clone with a copy of shared/ beside it.
    return REPO.parent / "shared" / "twilio-oai" / "twilio_api_v2010.json"


def _missing(reason: str) -> None:
    # In CI a missing tool is a broken pipeline, not a reason to go quietly green.
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Prism:
    url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    @contextmanager
    def explain(self) -> Iterator[None]:
        """Re-raise any failure with the tail of Prism's log, which names the violation."""
        try:
            yield
        except (AssertionError, SmsError) as exc:
            log = self.log_tail()
            raise AssertionError(f"{exc!r}\n--- prism log ({self.url}) ---\n{log}") from exc


def _start(spec: Path, log_path: Path, *, errors: bool) -> Prism:
    port = _free_port()
    cmd = [str(PRISM), "mock", str(spec), "-h", "127.0.0.1", "-p", str(port)]
    if errors:
        cmd.append("--errors")
    log = log_path.open("wb")
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    log.close()  # the child holds its own descriptor
    return Prism(f"http://127.0.0.1:{port}", log_path, process)


def _wait_ready(prism: Prism) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    port = int(prism.url.rsplit(":", 1)[1])
    while time.monotonic() < deadline:
        if prism.process.poll() is not None:
            pytest.fail(f"Prism exited with {prism.process.returncode}:\n{prism.log_tail()}")
        if "is listening on" in prism.log_path.read_text(errors="replace"):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                pass
        time.sleep(0.2)
    pytest.fail(f"Prism not listening after {STARTUP_TIMEOUT_S}s:\n{prism.log_tail()}")


def _stop(prism: Prism) -> None:
    prism.process.terminate()
    try:
        prism.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        prism.process.kill()
        prism.process.wait(timeout=10)


@pytest.fixture(scope="module")
def prisms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prism, Prism]]:
    if not PRISM.exists() and shutil.which("npm"):
        # A fresh checkout: install Prism from the committed lock (the npm registry only).
        subprocess.run(["bash", str(REPO / ".ci" / "prism.sh")], check=False, timeout=600)
    if not PRISM.exists():
        _missing(f"{PRISM} is missing: run .ci/prism.sh (npm ci) first")
    spec = spec_path()
    if not spec.is_file():
        _missing(f"Twilio's OpenAPI description not found at {spec} (set TWILIO_OAI_SPEC)")
    logs = tmp_path_factory.mktemp("prism")
    # Both start at once: each takes a few seconds to load the large description.
    strict = _start(spec, logs / "strict.log", errors=True)
    lenient = _start(spec, logs / "lenient.log", errors=False)
    try:
        _wait_ready(strict)
        _wait_ready(lenient)
        yield strict, lenient
    finally:
        _stop(strict)
        _stop(lenient)


@pytest.fixture
def strict(prisms: tuple[Prism, Prism]) -> Prism:
    return prisms[0]


@pytest.fixture
def lenient(prisms: tuple[Prism, Prism]) -> Prism:
    return prisms[1]


def _gateway(prism: Prism) -> TwilioGateway:
    return TwilioGateway(ACCOUNT_SID, AUTH_TOKEN, api_base_url=prism.url, timeout=20)


def test_send_with_from_number_matches_the_contract(strict: Prism) -> None:
    message = OutboundSms(
        to="+15005550006",
        body="Reminder: session 3 of 12 on Tue 4:00 PM EST. Reply C to confirm.",
        from_number="+15005550001",
        messaging_service_sid=None,
        status_callback="https://scheduler.example.org/webhooks/twilio/status",
        validity_period_s=3600,
    )
    with strict.explain():
        result = _gateway(strict).send(message)
        assert result.sid.startswith("SM") and len(result.sid) == 34
        assert result.status == "queued"


def test_send_with_messaging_service_matches_the_contract(strict: Prism) -> None:
    message = OutboundSms(
        to="+15005550006",
        body="Your weekly check-in: reply 1-5.",
        from_number=None,
        messaging_service_sid=MESSAGING_SERVICE_SID,
        status_callback="https://scheduler.example.org/webhooks/twilio/status",
        validity_period_s=99_999,  # clamped to Twilio's maximum of 36000
    )
    with strict.explain():
        result = _gateway(strict).send(message)
        assert result.sid.startswith("SM")


def test_list_sent_matches_the_contract(lenient: Prism) -> None:
    gateway = _gateway(lenient)
    with lenient.explain():
        # Prism answers with Twilio's example page, dated 2008: older than any real window.
        assert gateway.list_sent(to="+15005550006", since=datetime.now(UTC)) == []
        records = gateway.list_sent(to="+15005550006", since=datetime(2000, 1, 1, tzinfo=UTC))
        assert records, "the example page should be read when the window covers it"
        assert len({r.sid for r in records}) == len(records), "pages re-read must not duplicate"
        for record in records:
            assert record.sid[:2] in ("SM", "MM") and len(record.sid) == 34
            assert record.date_created is not None
            assert record.date_created.tzinfo is not None
            assert record.date_created < datetime.now(UTC) - timedelta(days=365)


def test_gateway_surfaces_a_contract_violation_as_sms_error(strict: Prism) -> None:
    # A Messaging Service SID of the wrong shape: the description's pattern rejects it.
    bad = OutboundSms(to="+15005550006", body="x", messaging_service_sid="MG123")
    with pytest.raises(SmsError) as info:
        _gateway(strict).send(bad)
    assert info.value.status == 422, strict.log_tail()
    assert info.value.retryable is False


def test_prism_rejects_a_send_without_to(strict: Prism) -> None:
    """Proves the validation is live: the same POST minus To must be refused."""
    url = f"{strict.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    request = urllib.request.Request(
        url,
        data=b"Body=hello&From=%2B15005550001",
        headers={
            "Authorization": f"Basic {auth}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=20)
    with info.value as response:
        payload = json.loads(response.read())
    assert response.status == 422
    assert any(v.get("message", "").endswith("'To'") for v in payload["validation"]), payload


def test_dispatch_once_against_prism_sends_everything_due_and_exits_0(
    strict: Prism, locations, tmp_path: Path
) -> None:
    """The whole pass, as an operator runs it, against the static mock.

    Prism answers the same SID to every send, so all but one text are recorded as sent and
    flagged (record.DUPLICATE_SID_REASON); none may be left "sending". A text a dead worker
    left "sending" stays so: the strict mock cannot list messages (its example fails its own
    schema), and nothing is resent while Twilio cannot say.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from scheduler.db.migrate import upgrade
    from scheduler.db.models import OutboundMessage
    from scheduler.db.session import make_engine
    from scheduler.services.directory import sync_offices
    from scheduler.texts.record import DUPLICATE_SID_REASON
    from tests.cli.test_dispatch_once import stick_one_in_sending
    from tests.support.scratch import scratch_database
    from tests.support.workers import seed_due_reminders, worker_env

    with scratch_database("sqlite", prefix="ipt_prism_dispatch") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            with Session(engine) as db, db.begin():
                sync_offices(db, locations)
            seed_due_reminders(engine, 6, "reminder_24h", first_phone=5580000)
            stuck = stick_one_in_sending(engine)
            env = worker_env(url, strict.url, INSTANCE_DIR=str(tmp_path), SMS_MAX_PER_SECOND="50")
            done = subprocess.run(
                [sys.executable, "-m", "scheduler", "dispatch", "--once"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr[-3000:] + strict.log_tail()
            assert "Traceback" not in done.stderr
            with Session(engine) as db:
                rows = db.scalars(select(OutboundMessage).where(OutboundMessage.id != stuck)).all()
                stuck_row = db.get(OutboundMessage, stuck)
                assert stuck_row is not None and stuck_row.status == "sending"
            assert len(rows) == 5
            assert {r.status for r in rows} == {"sent"}, [(r.id, r.status, r.error) for r in rows]
            holders = [r for r in rows if r.provider_sid]
            flagged = [r for r in rows if r.reason == DUPLICATE_SID_REASON]
            assert len(holders) == 1 and len(flagged) == 4
        finally:
            engine.dispose()
