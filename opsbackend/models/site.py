from sqlmodel import Field

from opsbackend.models.base import Record

REGIONS = ("West", "Northeast", "Midwest", "South")


class Site(Record, table=True):
    """A treating institution / trial site."""

    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=200)
    region: str = Field(max_length=20, index=True)
    timezone: str = Field(max_length=64)
    on_call_phone: str | None = Field(default=None, max_length=20)
    # The dispatch desk: the "dispatcher on duty" that alerts reach.
    dispatch_phone: str | None = Field(default=None, max_length=20)
    active: bool = Field(default=True)
    # What the site's day plans minimise: "distance" (total travel) or "fleet" (units
    # first, then travel); a plan request may ask for the other.
    routing_objective: str = Field(default="distance", max_length=20)
