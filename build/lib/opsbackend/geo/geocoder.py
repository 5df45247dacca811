"""Turning a home's address into lat/lon, behind one small interface.

``NominatimGeocoder`` asks a Nominatim server through geopy, at most one request
per ``min_delay_seconds`` (geopy's RateLimiter, per process), with a real user
agent (Nominatim refuses geopy's default). ``DisabledGeocoder`` is for offline
runs: every address needs review, or the client gives lat/lon itself.
"""

import math
from dataclasses import dataclass
from typing import Protocol

from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

# Two candidates further apart than this make an address ambiguous.
AMBIGUOUS_KM = 1.0


@dataclass(frozen=True)
class GeocodeResult:
    status: str  # "ok", "ambiguous", "not_found" or "error"
    lat: float | None = None
    lon: float | None = None
    detail: str = ""


class Geocoder(Protocol):
    name: str

    def geocode(self, address: str, country: str) -> GeocodeResult: ...


class NominatimGeocoder:
    name = "nominatim"

    def __init__(self, *, domain: str, scheme: str = "https", user_agent: str,
                 min_delay_seconds: float = 1.0, timeout: float = 10):
        self._client = Nominatim(domain=domain, scheme=scheme, user_agent=user_agent,
                                 timeout=timeout)
        self._search = RateLimiter(self._client.geocode, min_delay_seconds=min_delay_seconds,
                                   max_retries=0, swallow_exceptions=False)

    def geocode(self, address: str, country: str) -> GeocodeResult:
        try:
            places = self._search(address, exactly_one=False, limit=3,
                                  country_codes=country.lower())
        except GeopyError as exc:
            return GeocodeResult("error", detail=f"{type(exc).__name__}: {exc}"[:200])
        if not places:
            return GeocodeResult("not_found", detail="no match")
        best = places[0]
        for other in places[1:]:
            if _km(best.latitude, best.longitude, other.latitude, other.longitude) > AMBIGUOUS_KM:
                return GeocodeResult("ambiguous", best.latitude, best.longitude,
                                     detail=f"{len(places)} different places match")
        return GeocodeResult("ok", best.latitude, best.longitude, detail=best.address[:200])


class DisabledGeocoder:
    name = "disabled"

    def geocode(self, address: str, country: str) -> GeocodeResult:
        return GeocodeResult("error", detail="geocoding is disabled (GEOCODER=none)")


def _km(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0088 * 2 * math.asin(math.sqrt(a))


def geocoder_from_settings(settings) -> Geocoder:
    if settings.geocoder == "nominatim":
        scheme, _, domain = settings.nominatim_url.partition("://")
        return NominatimGeocoder(domain=domain.rstrip("/"), scheme=scheme,
                                 user_agent=settings.geocoder_user_agent,
                                 min_delay_seconds=settings.geocoder_min_delay_seconds)
    return DisabledGeocoder()
