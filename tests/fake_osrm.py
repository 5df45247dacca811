"""A fake OSRM on 127.0.0.1 answering the table service with the real response shape."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


class FakeOsrm:
    """Durations are 100 s per unit of |dlat| + |dlon| (degrees), so tests can predict them."""

    def __init__(self):
        self.requests: list[str] = []
        self.fail_with: int | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.requests.append(self.path)
                url = urlsplit(self.path)  # not urlparse: it cuts ";" off as params
                if fake.fail_with:
                    return self._send(fake.fail_with, {"code": "InvalidQuery",
                                                       "message": "boom"})
                parts = url.path.split("/")
                if parts[1:4] != ["table", "v1", "driving"]:
                    return self._send(400, {"code": "InvalidUrl", "message": "bad path"})
                points = [tuple(map(float, p.split(","))) for p in parts[4].split(";")]
                query = parse_qs(url.query)
                sources = [int(i) for i in query["sources"][0].split(";")]
                destinations = [int(i) for i in query["destinations"][0].split(";")]
                durations = [[_duration(points[s], points[d]) for d in destinations]
                             for s in sources]
                self._send(200, {
                    "code": "Ok", "durations": durations,
                    "sources": [{"location": list(points[s]), "name": ""} for s in sources],
                    "destinations": [{"location": list(points[d]), "name": ""}
                                     for d in destinations],
                })

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _duration(a, b):
    # Points come as (lon, lat) in OSRM's URL.
    return round((abs(a[0] - b[0]) + abs(a[1] - b[1])) * 100, 1)


@pytest.fixture
def osrm():
    fake = FakeOsrm()
    yield fake
    fake.close()
