"""The Twilio backend: the only module in the project that imports `twilio`."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3.exceptions
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from scheduler.sms.gateway import (
    OutboundSms,
    SendResult,
    SentRecord,
    SmsError,
    SmsOutcomeUnknown,
)

# Reconciliation pages back through a number's history newest first; a client of
# this service receives a few texts a week, so a handful of pages covers weeks.
_LIST_PAGE_SIZE = 50
_LIST_MAX_PAGES = 10
# A Retry-After longer than this is read as this: a sender paused for hours is an outage,
# which the retries' backoff and the texts' expiry already handle.
_MAX_RETRY_AFTER_S = 600.0


class ResponseKeepingHttpClient(TwilioHttpClient):
    """A TwilioHttpClient that keeps each thread's last response.

    The SDK's exceptions drop the response headers, and a 429's Retry-After is in them.
    The gateway sends from several threads at once, so "the last response" is per thread.
    """

    def __init__(self, *, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self._local = threading.local()

    @property
    def thread_last_response(self) -> Response | None:
        return getattr(self._local, "response", None)

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> Response:
        self._local.response = None
        response = super().request(method, url, *args, **kwargs)
        self._local.response = response
        return response


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), within 0..600."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(_MAX_RETRY_AFTER_S, max(0.0, seconds))


class RebasedHttpClient(ResponseKeepingHttpClient):
    """A TwilioHttpClient that sends every request to `base_url` instead of *.twilio.com.

    The SDK builds absolute URLs per product domain (api.twilio.com, messaging...),
    including the next-page links of lists; rewriting at the HTTP layer is the one
    place that catches all of them, so a mock can never be bypassed by accident.
    """

    def __init__(self, base_url: str, *, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"twilio_api_base_url: not an http(s) URL: {base_url!r}")
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")

    def rebase(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host != "twilio.com" and not host.endswith(".twilio.com"):
            return url
        return urlunsplit(
            (self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment)
        )

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> Response:
        return super().request(method, self.rebase(url), *args, **kwargs)


def _reason(exc: requests.RequestException) -> object:
    # requests wraps urllib3's MaxRetryError, whose `reason` is the real failure.
    inner = exc.args[0] if exc.args else None
    return getattr(inner, "reason", inner)


def request_may_have_left(exc: requests.RequestException) -> bool:
    """False only when we know no byte of the request reached the server."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema,
    ):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = _reason(exc)
        # NewConnectionError covers refused connections and DNS failures.
        return not isinstance(
            reason,
            urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError,
        )
    # Read timeouts, resets mid-response, broken chunked bodies: Twilio may have the message.
    return True


def _rest_error(exc: TwilioRestException, retry_after: float | None = None) -> SmsError:
    code = int(exc.code) if exc.code is not None else None
    return SmsError(
        str(exc.msg) or "Twilio rejected the request",
        code=code,
        status=exc.status,
        retry_after=retry_after,
    )


def _page_error(exc: TwilioException) -> SmsError:
    """A list page the SDK could not read (429, 5xx, a broken body): ask again later."""
    response = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(response, "status_code", None)
    return SmsError(
        f"could not list messages: HTTP {status if status is not None else '?'}",
        status=status if isinstance(status, int) else None,
        retryable=True,
    )


def _as_aware(value: object) -> datetime | None:
    # The SDK returns None (or, on odd input, the raw value) when a date does not parse.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    return None


class TwilioGateway:
    """Sends through Twilio's Messages API (or a stand-in at `api_base_url`)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base_url: str | None = None,
        timeout: float = 10,
        default_messaging_service_sid: str | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        http_client: ResponseKeepingHttpClient
        if api_base_url:
            http_client = RebasedHttpClient(api_base_url, timeout=timeout)
        else:
            http_client = ResponseKeepingHttpClient(timeout=timeout)
        self._http = http_client
        self._client = Client(account_sid, auth_token, http_client=http_client)
        self._default_msid = default_messaging_service_sid

    def close(self) -> None:
        """Release pooled connections (the gateway is unusable afterwards)."""
        session = getattr(self._client.http_client, "session", None)
        if session is not None:
            session.close()

    def send(self, message: OutboundSms) -> SendResult:
        kwargs: dict[str, Any] = {"to": message.to, "body": message.body}
        if message.from_number:
            kwargs["from_"] = message.from_number
        msid = message.messaging_service_sid or (
            None if message.from_number else self._default_msid
        )
        if msid:
            kwargs["messaging_service_sid"] = msid
        if "from_" not in kwargs and "messaging_service_sid" not in kwargs:
            raise SmsError("no sender: set from_number or a messaging service SID", retryable=False)
        if message.status_callback:
            kwargs["status_callback"] = message.status_callback
        if message.validity_period_s is not None:
            kwargs["validity_period"] = message.validity_period_s
        try:
            created = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            if exc.status >= 500:
                # Twilio may have created the message before failing to answer.
                raise SmsOutcomeUnknown(
                    f"Twilio answered HTTP {exc.status} to a send (code {exc.code})"
                ) from exc
            retry_after = None
            if exc.status == 429:
                last = self._http.thread_last_response
                headers = getattr(last, "headers", None) or {}
                retry_after = retry_after_seconds(headers.get("Retry-After"))
            raise _rest_error(exc, retry_after) from exc
        except requests.RequestException as exc:
            if request_may_have_left(exc):
                raise SmsOutcomeUnknown(
                    f"no reply from Twilio after sending to {message.to}: {type(exc).__name__}"
                ) from exc
            raise SmsError(f"could not reach Twilio: {type(exc).__name__}", retryable=True) from exc
        except TwilioException as exc:
            # Raised by the SDK after a reply arrived that it could not read: the
            # message may exist, so the caller must reconcile.
            raise SmsOutcomeUnknown(f"unreadable reply from Twilio: {exc}") from exc
        if not created.sid:
            raise SmsOutcomeUnknown("Twilio accepted the request but returned no SID")
        return SendResult(sid=created.sid, status=str(created.status or "queued"))

    def list_sent(self, *, to: str, since: datetime) -> list[SentRecord]:
        """Messages to `to` created at or after `since`, newest first.

        No DateSent filter is sent: a message still queued at Twilio has no
        date_sent and would be missed, which is exactly the case reconciliation
        must catch. Instead pages are read newest first until one holds nothing
        as recent as `since`. A record whose creation date cannot be read is kept:
        for deciding whether to resend, a false "already sent" beats a duplicate.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        found: list[SentRecord] = []
        seen: set[str] = set()
        try:
            page = self._client.messages.page(to=to, page_size=_LIST_PAGE_SIZE)
            for _ in range(_LIST_MAX_PAGES):
                recent_on_page = False
                for item in page:
                    created = _as_aware(item.date_created)
                    if created is not None and created < since:
                        continue
                    recent_on_page = True
                    # A message created while we page shifts the pages by one.
                    if item.sid in seen:
                        continue
                    seen.add(str(item.sid))
                    found.append(
                        SentRecord(
                            sid=str(item.sid),
                            to=str(item.to or to),
                            body=str(item.body or ""),
                            status=str(item.status or ""),
                            date_created=created,
                        )
                    )
                if not recent_on_page:
                    break
                page = page.next_page()
                if page is None:
                    break
        except TwilioRestException as exc:
            raise _rest_error(exc) from exc
        except TwilioException as exc:
            # A failed page (429, 5xx) comes as the SDK's base exception: retry later.
            raise _page_error(exc) from exc
        except requests.RequestException as exc:
            # A read changes nothing at Twilio, so any transport failure is simply retryable.
            raise SmsError(
                f"could not list messages: {type(exc).__name__}", retryable=True
            ) from exc
        return found


def verify_twilio_signature(
    auth_token: str, url: str, params: Mapping[str, Any], signature: str
) -> bool:
    """Check an X-Twilio-Signature header for a webhook request.

    `url` is the public URL Twilio called (configured base URL + path + query), and
    `params` the form fields; pass Flask's `request.form` as is so repeated fields count.
    Lives here so that web code verifies webhooks without importing twilio itself.
    """
    if not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))
