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
    # No nurse check-in this long after a visit's window opened: a late_unit alert.
    late_unit_grace_minutes: int = Field(default=15, sa_column_kwargs={"server_default": "15"})
    # A family's call-back request still open after this long: a callback_overdue alert.
    callback_alert_minutes: int = Field(default=30, sa_column_kwargs={"server_default": "30"})
