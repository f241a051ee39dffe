"""Every way a call to Twilio can fail, as TwilioGateway reports it (against the fake server).

The dispatcher's answer to each is tested in test_failure_modes.py; this is the gateway's half:
which failures mean "not sent" (SmsError), which mean "maybe sent" (SmsOutcomeUnknown, so
reconciliation asks before any resend), and that a failed page of the Messages list is an
SmsError like any other, not the SDK's bare TwilioException.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.sms.gateway import OutboundSms, SmsError, SmsOutcomeUnknown
from scheduler.sms.twilio import TwilioGateway, retry_after_seconds
from tests.support.fake_twilio_server import FAULTS, FakeTwilioServer

ACCOUNT_SID = "AC" + "cd" * 16
TO = "+15205550123"


def sms(body: str = "See you Tue 4:00 PM MST", to: str = TO) -> OutboundSms:
    return OutboundSms(to=to, body=body, from_number="+15205550100")


@pytest.fixture
def server() -> Iterator[FakeTwilioServer]:
    with FakeTwilioServer() as srv:
        yield srv


@pytest.fixture
def gateway(server: FakeTwilioServer) -> Iterator[TwilioGateway]:
    # A short timeout, so that a "timeout" fault (hang 1 s) is one.
    gw = TwilioGateway(ACCOUNT_SID, "token", api_base_url=server.url, timeout=0.5)
    yield gw
    gw.close()


def bodies(server: FakeTwilioServer) -> list[str]:
    return [m["body"] for m in server.messages()]


@pytest.mark.parametrize("fault", ["list_429", "list_500"])
def test_a_failed_list_page_is_a_retryable_sms_error(server, gateway, fault):
    gateway.send(sms())
    server.fail_next(fault)
    with pytest.raises(SmsError) as info:
        gateway.list_sent(to=TO, since=datetime.now(UTC) - timedelta(minutes=1))
    assert info.value.retryable is True
    assert info.value.status == int(fault[-3:])
    # The next page read works again.
    [found] = gateway.list_sent(to=TO, since=datetime.now(UTC) - timedelta(minutes=1))
    assert found.body == sms().body


def test_a_failed_second_page_is_an_sms_error_too(server, gateway):
    since = datetime.now(UTC) - timedelta(minutes=1)
    for i in range(55):  # two pages of 50
        gateway.send(sms(body=f"#{i}"))
    real = server._fault_for
    calls = []

    def second_page_fails(kinds):
        calls.append(kinds)
        return "list_500" if len(calls) == 2 else real(kinds)

    server._fault_for = second_page_fails  # type: ignore[method-assign]
    with pytest.raises(SmsError):
        gateway.list_sent(to=TO, since=since)


def test_429_carries_the_retry_after_and_nothing_was_sent(server, gateway):
    server.inject(0.0, retry_after=7)
    server.fail_next("429")
    with pytest.raises(SmsError) as info:
        gateway.send(sms())
    assert (info.value.status, info.value.code, info.value.retry_after) == (429, 20429, 7.0)
    assert info.value.retryable is True
    assert server.messages() == []


def test_retry_after_reads_seconds_and_dates_within_bounds():
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("3", now) == 3.0
    assert retry_after_seconds("Mon, 01 Mar 2027 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Mon, 01 Mar 2027 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("99999", now) == 600.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
    assert retry_after_seconds("nan", now) is None


@pytest.mark.parametrize(("fault", "accepted"), [("500", True), ("503", False)])
def test_5xx_to_a_send_is_outcome_unknown(server, gateway, fault, accepted):
    server.fail_next(fault)
    with pytest.raises(SmsOutcomeUnknown):
        gateway.send(sms())
    # Whether Twilio kept it is what reconciliation finds out.
    found = gateway.list_sent(to=TO, since=datetime.now(UTC) - timedelta(minutes=1))
    assert [r.body for r in found] == ([sms().body] if accepted else [])


def test_a_read_timeout_after_accepting_is_outcome_unknown(server, gateway):
    server.inject(0.0, hang=1.0)
    server.fail_next("timeout")
    with pytest.raises(SmsOutcomeUnknown):
        gateway.send(sms())
    assert bodies(server) == [sms().body]


def test_a_reset_before_the_request_is_read_is_outcome_unknown(server, gateway):
    # From the client's side a reset cannot be told from a reply lost after accepting.
    server.fail_next("reset")
    with pytest.raises(SmsOutcomeUnknown):
        gateway.send(sms())
    assert server.messages() == []
    gateway.send(sms())  # the next connection works
    assert bodies(server) == [sms().body]


def test_an_outage_refuses_connections_known_not_sent_then_recovers(server, gateway):
    server.inject(0.0, outage=0.5)
    server.fail_next("refused")
    with pytest.raises((SmsError, SmsOutcomeUnknown)):
        gateway.send(sms(body="cut"))  # the request that met the outage was cut
    with pytest.raises(SmsError) as info:
        gateway.send(sms(body="refused"))  # no connection at all: surely not sent
    assert info.value.retryable is True
    deadline = time.monotonic() + 5
    while True:
        try:
            gateway.send(sms(body="after"))
            break
        except SmsError:
            assert time.monotonic() < deadline, "the fake server did not come back"
            time.sleep(0.1)
    assert bodies(server) == ["after"]
    assert server.outages == 1


def test_a_duplicate_sid_is_answered_for_a_new_message(server, gateway):
    first = gateway.send(sms(body="one"))
    server.fail_next("duplicate_sid")
    second = gateway.send(sms(body="two", to="+15205550124"))
    assert second.sid == first.sid
    assert bodies(server) == ["one", "two"]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [("21610", "opted_out"), ("21614", "undeliverable"), ("21211", "undeliverable")],
)
def test_error_codes_are_refusals_of_their_kind(server, gateway, fault, kind):
    server.fail_next(fault)
    with pytest.raises(SmsError) as info:
        gateway.send(sms())
    assert (info.value.code, info.value.kind, info.value.retryable) == (int(fault), kind, False)
    assert server.messages() == []


def test_injected_faults_hit_about_the_chosen_fraction(server, gateway):
    server.inject(0.2, faults=("503", "21610", "list_500"), seed=7)
    outcomes = {"ok": 0, "fault": 0}
    for i in range(200):
        try:
            gateway.send(sms(body=f"#{i}"))
            outcomes["ok"] += 1
        except (SmsError, SmsOutcomeUnknown):
            outcomes["fault"] += 1
    injected = server.injected()
    assert set(injected) <= {"503", "21610"}  # list faults only hit list calls
    assert outcomes["fault"] == sum(injected.values())
    assert 20 <= outcomes["fault"] <= 60
    assert len(server.messages()) == outcomes["ok"]


def test_unknown_faults_are_refused():
    with FakeTwilioServer() as server:
        with pytest.raises(ValueError):
            server.fail_next("teapot")
        with pytest.raises(ValueError):
            server.inject(0.1, faults=("teapot",))
        with pytest.raises(ValueError):
            server.inject(1.5)
    assert "refused" in FAULTS
