from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field

from opsbackend.models.base import Record, json_dict, json_list

VISIT_KINDS = (
    "course_start",
    "bag_change",
    "course_end",
    "alarm_response",
    "pump_check",
    "lab_draw",
)
VISIT_STATUSES = (
    "unassigned",
    "assigned",
    "en_route",
    "on_site",
    "completed",
    "cancelled",
    "missed",
)
CHECK_IN_KINDS = ("arrived", "bag_changed", "pump_status", "departed")
CHANNELS = ("sms", "voice", "api", "web")
# Why a dispatcher moved or cancelled a visit: a fixed list, so the trail can be counted.
VISIT_REASON_CODES = (
    "family_request",
    "patient_unavailable",
    "patient_hospitalised",
    "clinical_order",
    "unit_unavailable",
    "traffic_or_weather",
    "schedule_optimisation",
    "course_changed",
    "duplicate",
    "other",
)


class SkillRule(Record, table=True):
    """Data, not code: a visit to a patient matching the rule needs the skill.

    The age bounds are in months, ``max_age_months`` exclusive (infant: < 12).
    """

    __tablename__ = "skill_rule"

    name: str = Field(max_length=80, unique=True)
    skill: str = Field(max_length=40)
    min_age_months: int | None = None
    max_age_months: int | None = None
    visit_kind: str | None = Field(default=None, max_length=20)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    active: bool = Field(default=True)


class Visit(Record, table=True):
    """A dispatch job at a home with a hard time window. Its code is ``V{id}``."""

    __table_args__ = (Index("ix_visit_unit_window", "unit_id", "window_start"),)

    course_id: int | None = Field(default=None, foreign_key="course.id", index=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    bag_id: int | None = Field(default=None, foreign_key="bag.id", index=True)
    kind: str = Field(max_length=20)
    status: str = Field(default="unassigned", max_length=20, index=True)
    window_start: datetime = Field(index=True)
    window_end: datetime
    service_minutes: int = Field(default=45)
    required_skills: list[str] = json_list()
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    assigned_at: datetime | None = None
    eta: datetime | None = None
    arrived_at: datetime | None = None
    completed_at: datetime | None = None
    family_confirmed_at: datetime | None = None
    notes: str | None = Field(default=None, max_length=1000)
    # When a dispatcher last moved the window: the schedule generator keeps that window.
    rescheduled_at: datetime | None = None
    # When the window last changed, by anyone: messages queued before it are outdated.
    window_changed_at: datetime | None = None
    cancelled_at: datetime | None = None
    # The reason code of the last move or cancellation (VISIT_REASON_CODES).
    reason_code: str | None = Field(default=None, max_length=40)
    # One visit per cause (e.g. "bag_change:bag:42"): generators stay idempotent.
    dedupe_key: str = Field(max_length=100, unique=True)


class CheckIn(Record, table=True):
    """A nurse's phone event on a visit, with the EVV elements and how each was verified."""

    __tablename__ = "check_in"

    visit_id: int | None = Field(default=None, foreign_key="visit.id", index=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    nurse_id: int = Field(foreign_key="nurse.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    kind: str = Field(max_length=20)
    service_type: str = Field(max_length=20)
    occurred_at: datetime
    channel: str = Field(max_length=10)
    caller_phone: str | None = Field(default=None, max_length=20)
    # identity: "registered_phone", "pin" or "api_token"
    identity_method: str = Field(max_length=20)
    # location: "home_landline", "unit_gps" (the unit's reported position near the home),
    # "gps" or "none"
    location_method: str = Field(default="none", max_length=20)
    caller_matched_nurse: bool = Field(default=False)
    caller_matched_home: bool = Field(default=False)
    nurse_on_assigned_unit: bool = Field(default=False)
    lat: float | None = None
    lon: float | None = None
    inbound_message_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    details: dict = json_dict()
