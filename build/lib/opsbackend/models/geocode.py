from sqlmodel import Field

from opsbackend.models.base import Record


class GeocodeCacheEntry(Record, table=True):
    """One address looked up once: an unchanged address is never geocoded twice."""

    __tablename__ = "geocode_cache"

    address_key: str = Field(max_length=400, unique=True)
    provider: str = Field(max_length=40)
    status: str = Field(max_length=20)
    lat: float | None = None
    lon: float | None = None
    detail: str | None = Field(default=None, max_length=200)
