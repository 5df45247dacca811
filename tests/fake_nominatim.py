"""A fake Nominatim on 127.0.0.1 that answers /search with the real JSON shape."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest


class FakeNominatim:
    def __init__(self):
        self.places: dict[str, list[tuple[float, float]]] = {}
        self.queries: list[str] = []
        self.fail_with: int | None = None
        self.user_agents: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                params = parse_qs(url.query)
                query = params.get("q", [""])[0]
                fake.queries.append(query)
                fake.user_agents.append(self.headers.get("User-Agent", ""))
                if url.path != "/search" or params.get("format") != ["json"]:
                    return self._send(400, {"error": "bad request"})
                if fake.fail_with:
                    return self._send(fake.fail_with, {"error": "unavailable"})
                found = next((v for k, v in fake.places.items() if k in query.lower()), [])
                self._send(200, [_place(n, lat, lon, query) for n, (lat, lon) in
                                 enumerate(found, 1)])

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

    def add(self, fragment: str, *points: tuple[float, float]) -> None:
        self.places[fragment.lower()] = list(points)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _place(n, lat, lon, query):
    return {
        "place_id": 1000 + n, "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
        "osm_type": "way", "osm_id": 5000 + n, "lat": str(lat), "lon": str(lon),
        "class": "building", "type": "house", "place_rank": 30, "importance": 0.5 / n,
        "addresstype": "building", "name": "", "display_name": f"{query} (match {n})",
        "boundingbox": [str(lat - 0.001), str(lat + 0.001), str(lon - 0.001), str(lon + 0.001)],
    }


@pytest.fixture
def nominatim():
    fake = FakeNominatim()
    yield fake
    fake.close()
