from datetime import date, datetime

from sqlmodel import Field

from opsbackend.models.base import Record, json_dict


class DayPlan(Record, table=True):
    """A computed day of routes for a site: previewed, then applied (or not)."""

    __tablename__ = "day_plan"

    site_id: int = Field(foreign_key="site.id", index=True)
    day: date
    status: str = Field(default="preview", max_length=20)
    seconds: float
    routes: dict = json_dict()
    applied_at: datetime | None = None
