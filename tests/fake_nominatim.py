"""A fake Nominatim on 127.0.0.1 that answers /search with the real JSON shape."""

from urllib.parse import parse_qs, urlparse

import pytest

from tests.fake_server import FakeServer, JsonHandler


class FakeNominatim(FakeServer):
    def __init__(self):
        self.places: dict[str, list[tuple[float, float]]] = {}
        self.queries: list[str] = []
        self.fail_with: int | None = None
        self.user_agents: list[str] = []
        fake = self

        class Handler(JsonHandler):
            def do_GET(self):
                url = urlparse(self.path)
                params = parse_qs(url.query)
                query = params.get("q", [""])[0]
                fake.queries.append(query)
                fake.user_agents.append(self.headers.get("User-Agent", ""))
                if url.path != "/search" or params.get("format") != ["json"]:
                    return self.send_json(400, {"error": "bad request"})
                if fake.fail_with:
                    return self.send_json(fake.fail_with, {"error": "unavailable"})
                found = next((v for k, v in fake.places.items() if k in query.lower()), [])
                self.send_json(200, [_place(n, lat, lon, query) for n, (lat, lon) in
                                 enumerate(found, 1)])

        self.start(Handler)

    def add(self, fragment: str, *points: tuple[float, float]) -> None:
        self.places[fragment.lower()] = list(points)



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
