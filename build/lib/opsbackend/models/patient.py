from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, Relationship

from opsbackend.models.base import Record

PATIENT_STATUSES = ("active", "on_hold", "completed", "withdrawn")
LANGUAGES = ("en", "es")
GEOCODE_STATUSES = ("pending", "ok", "manual", "needs_review")


class Patient(Record, table=True):
    """A trial participant, known by a study code; no name is needed in SMS."""

    __table_args__ = (
        UniqueConstraint("site_id", "study_code"),
        CheckConstraint(
            "date_of_birth IS NOT NULL OR age_months IS NOT NULL", name="birth_or_age"
        ),
    )

    site_id: int = Field(foreign_key="site.id", index=True)
    study_code: str = Field(max_length=40)
    first_name: str | None = Field(default=None, max_length=80)
    date_of_birth: date | None = None
    # Age at enrolment, for patients whose date of birth is not recorded here.
    age_months: int | None = None
    weight_kg: float
    language: str = Field(default="en", max_length=8)
    status: str = Field(default="active", max_length=20, index=True)

    home: "Home" = Relationship(
        back_populates="patient", sa_relationship_kwargs={"lazy": "selectin", "uselist": False}
    )
    contacts: list["Contact"] = Relationship(
        back_populates="patient",
        sa_relationship_kwargs={"lazy": "selectin", "order_by": "Contact.id"},
    )


class Home(Record, table=True):
    """Where infusions happen; geocoded to lat/lon."""

    patient_id: int = Field(foreign_key="patient.id", unique=True)
    address_line1: str = Field(max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    city: str = Field(max_length=100)
    state: str | None = Field(default=None, max_length=50)
    postal_code: str = Field(max_length=20)
    country: str = Field(default="US", max_length=2)
    lat: float | None = None
    lon: float | None = None
    geocode_status: str = Field(default="pending", max_length=20, index=True)
    geocoded_at: datetime | None = None
    # Why a dispatcher must look at it (ambiguous, not found, geocoder down, ...).
    geocode_detail: str | None = Field(default=None, max_length=200)
    # The home landline, whose caller ID verifies location in telephony EVV.
    landline_phone: str | None = Field(default=None, max_length=20)
    access_notes: str | None = Field(default=None, max_length=500)

    patient: Patient = Relationship(back_populates="home")


class Contact(Record, table=True):
    """A family member's phone for SMS."""

    __table_args__ = (UniqueConstraint("patient_id", "phone"),)

    patient_id: int = Field(foreign_key="patient.id", index=True)
    name: str = Field(max_length=120)
    relationship: str = Field(max_length=40)
    phone: str = Field(max_length=20, index=True)
    language: str = Field(default="en", max_length=8)
    is_primary: bool = Field(default=False)
    opted_out: bool = Field(default=False)
    opted_out_at: datetime | None = None
    quiet_hours_start: time = Field(default=time(21, 0))
    quiet_hours_end: time = Field(default=time(7, 0))
    # Defaults to the site's time zone when empty.
    timezone: str | None = Field(default=None, max_length=64)

    patient: Patient = Relationship(back_populates="contacts")
