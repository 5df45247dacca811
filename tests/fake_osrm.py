"""A fake OSRM on 127.0.0.1 answering the table service with the real response shape."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fake_server import FakeServer, JsonHandler


class FakeOsrm(FakeServer):
    """Durations are 100 s per unit of |dlat| + |dlon| (degrees), so tests can predict them."""

    def __init__(self):
        self.requests: list[str] = []
        self.fail_with: int | None = None
        fake = self

        class Handler(JsonHandler):
            def do_GET(self):
                fake.requests.append(self.path)
                url = urlsplit(self.path)  # not urlparse: it cuts ";" off as params
                if fake.fail_with:
                    return self.send_json(fake.fail_with, {"code": "InvalidQuery",
                                                       "message": "boom"})
                parts = url.path.split("/")
                if parts[1:4] != ["table", "v1", "driving"]:
                    return self.send_json(400, {"code": "InvalidUrl", "message": "bad path"})
                points = [tuple(map(float, p.split(","))) for p in parts[4].split(";")]
                query = parse_qs(url.query)
                sources = [int(i) for i in query["sources"][0].split(";")]
                destinations = [int(i) for i in query["destinations"][0].split(";")]
                durations = [[_duration(points[s], points[d]) for d in destinations]
                             for s in sources]
                self.send_json(200, {
                    "code": "Ok", "durations": durations,
                    "sources": [{"location": list(points[s]), "name": ""} for s in sources],
                    "destinations": [{"location": list(points[d]), "name": ""}
                                     for d in destinations],
                })

        self.start(Handler)


def _duration(a, b):
    # Points come as (lon, lat) in OSRM's URL.
    return round((abs(a[0] - b[0]) + abs(a[1] - b[1])) * 100, 1)


@pytest.fixture
def osrm():
    fake = FakeOsrm()
    yield fake
    fake.close()
