"""A fake Twilio REST API on 127.0.0.1, driven by the real ``twilio`` SDK in tests.

It speaks the Messages resource's real shapes (create: form POST answered by a
201 JSON message; list: GET with To and DateSent> filters), checks basic auth,
records every message it accepted, and can be told to fail the next requests:
``500``, ``429``, ``timeout`` (never answers in time), ``accept_then_timeout``
(records the message, then never answers: the outcome is unknown to the
client), ``accept_then_close`` (records it, then closes the connection without an
answer), or a Twilio error code such as ``21211`` or ``21610``.
"""

import argparse
import base64
import threading
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fake_server import FakeServer, JsonHandler

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
ERRORS = {
    "21211": (400, "The 'To' number is not a valid phone number."),
    "21610": (400, "Attempt to send to unsubscribed recipient"),
}


class FakeTwilio(FakeServer):
    def __init__(self, hang_seconds: float = 3.0, host: str = "127.0.0.1", port: int = 0,
                 echo: bool = False, latency_seconds: float = 0.0):
        self.messages: list[dict] = []
        # When each message arrived (time.time(), by SID): date_created has whole seconds.
        self.arrivals: dict[str, float] = {}
        self.failures: list[str] = []
        self.requests = 0
        self.hang_seconds = hang_seconds
        # How long each message create takes to answer: Twilio's REST API answers in
        # 100-300 ms from a data centre, and a sender that waits on each in turn is slow.
        self.latency_seconds = latency_seconds
        self.echo = echo
        self._lock = threading.Lock()
        fake = self

        class Handler(JsonHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake._handle(self, "POST", form)

            def do_GET(self):
                fake._handle(self, "GET", {})

        self.start(Handler, host, port)

    def fail_next(self, kind: str, times: int = 1) -> None:
        with self._lock:
            self.failures.extend([kind] * times)

    def bodies_to(self, phone: str) -> list[str]:
        return [m["body"] for m in self.messages if m["to"] == phone]

    def _handle(self, handler, method, form):
        with self._lock:
            self.requests += 1
            failure = self.failures.pop(0) if self.failures else None
        split = urlsplit(handler.path)
        expected = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        if split.path != expected:
            return _send(handler, 404, _error(20404, "The requested resource was not found"))
        if not _authorised(handler):
            return _send(handler, 401, _error(20003, "Authentication Error"))
        if method == "GET":
            return _send(handler, 200, self._list(parse_qs(split.query)))
        if failure == "timeout":
            time.sleep(self.hang_seconds)
            return None
        if failure == "500":
            return _send(handler, 500, _error(50000, "fake failure"))
        if failure == "429":  # Twilio's answer beyond the account's concurrent requests
            return _send(handler, 429, _error(20429, "Too Many Requests"))
        if failure in ERRORS:
            status, text = ERRORS[failure]
            return _send(handler, status, _error(int(failure), text))
        time.sleep(self.latency_seconds)
        message = self._accept(form)
        if failure == "accept_then_timeout":
            time.sleep(self.hang_seconds)
            return None
        if failure == "accept_then_close":
            handler.close_connection = True
            return None
        return _send(handler, 201, message)

    def _accept(self, form) -> dict:
        now = datetime.now(UTC)
        sid = "SM" + uuid.uuid4().hex
        message = {
            "sid": sid, "account_sid": ACCOUNT_SID, "to": form.get("To"),
            "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body", ""), "status": "queued", "num_segments": "1",
            "num_media": "0", "direction": "outbound-api", "api_version": "2010-04-01",
            "price": None, "price_unit": "USD", "error_code": None, "error_message": None,
            "date_created": format_datetime(now), "date_updated": format_datetime(now),
            "date_sent": format_datetime(now),
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/"
                                          f"{sid}/Media.json"},
            "status_callback": form.get("StatusCallback"),
        }
        with self._lock:
            self.messages.append(message)
            self.arrivals[sid] = time.time()
        if self.echo:
            print(f"SMS to {message['to']}: {message['body']}", flush=True)
        return message

    def _list(self, query) -> dict:
        to = query.get("To", [None])[0]
        after = query.get("DateSent>", [None])[0]
        found = [m for m in self.messages if to is None or m["to"] == to]
        if after:
            since = datetime.fromisoformat(after.replace("Z", "+00:00"))
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            found = [m for m in found if parsedate_to_datetime(m["date_sent"]) >= since]
        uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        return {"messages": found, "end": max(len(found) - 1, 0), "first_page_uri": uri,
                "next_page_uri": None, "page": 0, "page_size": 50, "previous_page_uri": None,
                "start": 0, "uri": uri}


def _authorised(handler) -> bool:
    expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    return handler.headers.get("Authorization", "") == f"Basic {expected}"


def _error(code: int, message: str) -> dict:
    return {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": code // 100}


def _send(handler, status: int, body: dict) -> None:
    if "status" in body and "code" in body and status >= 400:
        body = body | {"status": status}
    handler.send_json(status, body)


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio()
    yield fake
    fake.close()


@pytest.fixture
def twilio_provider(fake_twilio):
    """The real SDK, pointed at the fake, with a short timeout for the hang cases."""
    from opsbackend.sms.twilio_provider import TwilioSmsProvider

    return TwilioSmsProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                             from_number="+13105550199", api_base_url=fake_twilio.url,
                             timeout=1)


def main() -> None:
    """``python -m tests.fake_twilio``: the fake on its own, printing each SMS it takes
    (docker/compose.yaml's ``fake-twilio`` profile: try opsbackend without an account)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    fake = FakeTwilio(host=args.host, port=args.port, echo=True)
    print(f"fake Twilio on {fake.url} (account {ACCOUNT_SID}, auth token {AUTH_TOKEN})",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.close()


if __name__ == "__main__":
    main()
