"""Homes get coordinates: the client's own, or the geocoder's, cached by address.

A failed or ambiguous geocode leaves the home ``needs_review`` with the reason,
visible to dispatchers; never a silent wrong location.
"""

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.geo.geocoder import Geocoder, GeocodeResult
from opsbackend.models import GeocodeCacheEntry, Home

ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "postal_code", "country")


def address_text(home: Home) -> str:
    parts = [home.address_line1, home.address_line2, home.city, home.state, home.postal_code]
    return ", ".join(p.strip() for p in parts if p and p.strip())


def address_key(home: Home) -> str:
    """The cache key: the address with case, spacing and punctuation ignored."""
    text = f"{address_text(home)}|{home.country}".lower()
    return re.sub(r"[^a-z0-9|]+", " ", text).strip()[:400]


def geocode_home(session: Session, clock: Clock, home: Home, geocoder: Geocoder) -> Home:
    result = _cached(session, home, geocoder)
    if result.status == "ok":
        home.lat, home.lon, home.geocode_status = result.lat, result.lon, "ok"
        home.geocode_detail = None
    else:
        # Ambiguous: the best guess is kept for the dispatcher to confirm, never used silently.
        home.lat, home.lon = result.lat, result.lon
        home.geocode_status = "needs_review"
        home.geocode_detail = f"{result.status}: {result.detail}"[:200]
    home.geocoded_at = clock.now()
    session.flush()
    return home


def _cached(session: Session, home: Home, geocoder: Geocoder) -> GeocodeResult:
    key = address_key(home)
    entry = session.scalars(
        select(GeocodeCacheEntry).where(GeocodeCacheEntry.address_key == key)
    ).first()
    if entry is not None:
        return GeocodeResult(entry.status, entry.lat, entry.lon, entry.detail or "")
    result = geocoder.geocode(address_text(home), home.country)
    if result.status == "error":
        return result  # a failure is not an answer: the next change tries again
    try:
        with session.begin_nested():
            session.add(GeocodeCacheEntry(address_key=key, provider=geocoder.name,
                                          status=result.status, lat=result.lat, lon=result.lon,
                                          detail=result.detail[:200]))
    except IntegrityError:
        pass  # another request cached the same address a moment ago
    return result
