"""Twilio through its official SDK."""

import threading
from datetime import datetime

import requests
import urllib3
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from opsbackend.sms.provider import PermanentSmsError, SendResult, TransientSmsError


class TwilioSmsProvider:
    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, messaging_service_sid: str = "",
                 from_number: str = "", api_base_url: str = "", timeout: float = 10):
        self._credentials = (account_sid, auth_token)
        self._api_base_url = api_base_url.rstrip("/")
        self._timeout = timeout
        # A client per thread: the outbox sends in lanes (send_lanes), and the SDK's HTTP
        # client (a requests.Session, which keeps the connection open) is not promised
        # to be thread-safe.
        self._local = threading.local()
        self._sender = ({"messaging_service_sid": messaging_service_sid}
                        if messaging_service_sid else {"from_": from_number})

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        options = dict(self._sender)
        if status_callback:
            options["status_callback"] = status_callback
        try:
            message = self._client().messages.create(to=to, body=body, **options)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except requests.exceptions.ConnectionError as exc:
            if _never_sent(exc):  # refused, DNS, connect timeout: safe to send again
                raise TransientSmsError(f"could not reach Twilio: {exc}") from exc
            # Reset or closed while the request went out or its answer came back:
            # Twilio may have taken it. The reaper asks before anything is sent again.
            raise TransientSmsError(f"Twilio's connection broke: {exc}",
                                    maybe_sent=True) from exc
        except requests.exceptions.Timeout as exc:
            # Twilio may have taken it before we gave up waiting: the reaper decides.
            raise TransientSmsError(f"Twilio did not answer in time: {exc}",
                                    maybe_sent=True) from exc
        return SendResult(sid=message.sid, status=message.status)

    def _client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = Client(*self._credentials,
                            http_client=TwilioHttpClient(timeout=self._timeout))
            if self._api_base_url:
                client.api.base_url = self._api_base_url
            self._local.client = client
        return client

    def find_sent(self, to: str, since: datetime, body: str) -> SendResult | None:
        try:
            messages = self._client().messages.list(to=to, date_sent_after=since, limit=50)
        except (TwilioRestException, requests.exceptions.RequestException) as exc:
            raise TransientSmsError(f"could not list messages: {exc}") from exc
        for message in messages:
            if message.body == body:
                return SendResult(sid=message.sid, status=message.status)
        return None


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """The connection was never made, so the request never left (requests wraps urllib3's
    connect failures in MaxRetryError, and a broken connection's ProtocolError as is)."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (urllib3.exceptions.NewConnectionError,
                               urllib3.exceptions.ConnectTimeoutError))


def _classify(exc: TwilioRestException) -> Exception:
    code = str(exc.code) if exc.code else None
    if exc.status == 429 or exc.status >= 500:
        return TransientSmsError(f"Twilio {exc.status}: {exc.msg}", code=code)
    return PermanentSmsError(f"Twilio {exc.status} {code}: {exc.msg}", code=code or
                             str(exc.status))
