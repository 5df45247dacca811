"""A webhook receiver on 127.0.0.1: records every POST (headers and body) and answers
200, or the statuses it was told to answer next (``fail_next(500, times=2)``)."""

import threading
from dataclasses import dataclass

import pytest

from tests.fake_server import FakeServer, JsonHandler


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


class FakeReceiver(FakeServer):
    def __init__(self):
        self.received: list[Received] = []
        self.answers: list[int] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(JsonHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with fake._lock:
                    fake.received.append(Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    status = fake.answers.pop(0) if fake.answers else 200
                self.send_json(status, {"ok": status < 300})

        self.start(Handler)

    def fail_next(self, status: int, times: int = 1) -> None:
        with self._lock:
            self.answers.extend([status] * times)

    def of_type(self, event_type: str) -> list[Received]:
        import json

        return [r for r in self.received if json.loads(r.body)["type"] == event_type]


@pytest.fixture
def webhook_receiver():
    receiver = FakeReceiver()
    yield receiver
    receiver.close()
