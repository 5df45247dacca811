"""US postal-code centroids, offline, from the ``zipcodes`` package (MIT, data in the wheel).

Only active STANDARD codes count: PO-box, unique (one organisation) and military codes
have no homes around their centroid. The package carries no population figures, so
a code's centroid is where a base or an expected patient is placed, nothing more.
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
import zipcodes

from opsbackend.routing.travel import haversine_km

# The Census Bureau's four regions, the ones a site's ``region`` names.
REGION_STATES = {
    "Northeast": ("CT", "MA", "ME", "NH", "NJ", "NY", "PA", "RI", "VT"),
    "Midwest": ("IA", "IL", "IN", "KS", "MI", "MN", "MO", "ND", "NE", "OH", "SD", "WI"),
    "South": ("AL", "AR", "DC", "DE", "FL", "GA", "KY", "LA", "MD", "MS", "NC", "OK", "SC",
              "TN", "TX", "VA", "WV"),
    "West": ("AK", "AZ", "CA", "CO", "HI", "ID", "MT", "NM", "NV", "OR", "UT", "WA", "WY"),
}


@dataclass(frozen=True)
class PostalCode:
    code: str
    city: str
    state: str
    lat: float
    lon: float


@cache
def _all() -> tuple[PostalCode, ...]:
    return tuple(
        PostalCode(z["zip_code"], z["city"], z["state"], float(z["lat"]), float(z["long"]))
        for z in zipcodes.list_all()
        if z["active"] and z["zip_code_type"] == "STANDARD" and z["lat"] and z["long"]
    )


@cache
def _by_code() -> dict[str, PostalCode]:
    return {p.code: p for p in _all()}


def find(code: str) -> PostalCode | None:
    """The centroid of a five-digit code (``"19104"`` or ``"19104-2345"``), or None."""
    return _by_code().get(code.strip()[:5])


def in_states(states) -> list[PostalCode]:
    wanted = set(states)
    return [p for p in _all() if p.state in wanted]


def near(codes: list[PostalCode], points: list[tuple[float, float]], km: float,
         block: int = 500) -> list[PostalCode]:
    """The codes within ``km`` in a straight line of at least one point."""
    if not codes or not points:
        return []
    centroids = np.array([(p.lat, p.lon) for p in codes])
    close = np.zeros(len(codes), dtype=bool)
    for start in range(0, len(points), block):  # blocks keep the distance matrix small
        close |= (haversine_km(points[start:start + block], centroids) <= km).any(axis=0)
    return [p for p, keep in zip(codes, close, strict=True) if keep]
