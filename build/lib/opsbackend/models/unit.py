from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, Relationship

from opsbackend.models.base import Record, json_list

UNIT_STATUSES = ("available", "en_route", "on_site", "off_duty", "out_of_service")


class Unit(Record, table=True):
    """A mobile infusion unit: a van and its crew."""

    call_sign: str = Field(max_length=40, unique=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    base_lat: float
    base_lon: float
    skills: list[str] = json_list()
    status: str = Field(default="available", max_length=20, index=True)
    last_lat: float | None = None
    last_lon: float | None = None
    last_located_at: datetime | None = None

    shifts: list["UnitShift"] = Relationship(
        sa_relationship_kwargs={
            "lazy": "selectin",
            "order_by": "(UnitShift.weekday, UnitShift.starts_at)",
            "cascade": "all, delete-orphan",
        }
    )


class UnitShift(Record, table=True):
    """One block of the unit's weekly pattern, in the site's local time.

    A shift that ends at or before it starts runs past midnight.
    """

    __tablename__ = "unit_shift"

    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        UniqueConstraint("unit_id", "weekday", "starts_at"),
    )

    unit_id: int = Field(foreign_key="unit.id", index=True)
    weekday: int  # Monday = 0, as in Python's date.weekday()
    starts_at: time
    ends_at: time


class UnitShiftException(Record, table=True):
    """A date where the weekly pattern does not apply: off all day, or other hours."""

    __tablename__ = "unit_shift_exception"

    __table_args__ = (UniqueConstraint("unit_id", "on_date"),)

    unit_id: int = Field(foreign_key="unit.id", index=True)
    on_date: date
    starts_at: time | None = None
    ends_at: time | None = None
    reason: str | None = Field(default=None, max_length=200)
