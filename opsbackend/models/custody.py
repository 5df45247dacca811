from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from opsbackend.models.base import Record

PREPARED_BAG_STATUSES = ("in_custody", "hung", "discarded")
STORAGE_KINDS = ("fridge", "room")
CUSTODY_KINDS = ("released", "handed_over", "stored", "temperature", "hung", "discarded")
CUSTODY_PLACES = ("pharmacy", "unit", "home", "other")


class PreparedBag(Record, table=True):
    """A bag the pharmacy prepared for a course, from its release until it is hung or
    discarded: its label, and (in ``custody_event``) who held it, where, and how cold."""

    __tablename__ = "prepared_bag"
    __table_args__ = (UniqueConstraint("course_id", "pharmacy_bag_id"),)

    course_id: int = Field(foreign_key="course.id", index=True)
    # The pharmacy's id for the bag, as printed on the label or read from its barcode.
    pharmacy_bag_id: str = Field(max_length=120)
    lot: str | None = Field(default=None, max_length=40)
    expires_at: datetime | None = None
    volume_ml: float | None = None
    prepared_at: datetime | None = None
    status: str = Field(default="in_custody", max_length=20, index=True)


class CustodyEvent(Record, table=True):
    """One link of a prepared bag's chain: a hand-over, a move into or out of the fridge,
    a temperature reading, the hanging at home. Who, when and where, each time."""

    __tablename__ = "custody_event"

    prepared_bag_id: int = Field(foreign_key="prepared_bag.id", index=True)
    kind: str = Field(max_length=20)
    occurred_at: datetime
    place: str = Field(max_length=20)
    # Free text for the place ("CHLA pharmacy", "van WEST-1 cooler") and the people.
    location: str | None = Field(default=None, max_length=120)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    handed_by: str | None = Field(default=None, max_length=120)
    received_by: str | None = Field(default=None, max_length=120)
    # Where the bag is kept from this event on ("fridge" 2-8 °C, or "room"), if it changed.
    storage: str | None = Field(default=None, max_length=10)
    temperature_c: float | None = None
    notes: str | None = Field(default=None, max_length=300)
