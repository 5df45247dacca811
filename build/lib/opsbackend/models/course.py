from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, Relationship

from opsbackend.models.base import Record, json_dict, json_list

COURSE_STATUSES = ("scheduled", "active", "paused", "completed", "discontinued")
OPEN_COURSE_STATUSES = ("scheduled", "active", "paused")
BAG_INTERVAL_HOURS = (24, 48, 72, 96, 168)
PUMP_STATUSES = ("running", "paused", "stopped", "alarm")
ALARM_TYPES = (
    "occlusion",
    "air_in_line",
    "low_battery",
    "reservoir_low",
    "reservoir_empty",
    "malfunction",
    "other",
)
REPORT_SOURCES = ("api", "sms", "voice", "web")


class Course(Record, table=True):
    """One infusion order: a drug given continuously, bag after bag."""

    __table_args__ = (
        CheckConstraint(
            "bag_interval_hours IN (24, 48, 72, 96, 168)", name="bag_interval_allowed"
        ),
        CheckConstraint("duration_days > 0", name="duration_positive"),
    )

    patient_id: int = Field(foreign_key="patient.id", index=True)
    drug: str = Field(default="blinatumomab", max_length=80)
    planned_start_at: datetime
    duration_days: int = Field(default=28)
    bag_interval_hours: int
    rate_ml_per_hour: float
    bag_volume_ml: float | None = None
    pump_model: str | None = Field(default=None, max_length=80)
    pump_serial: str | None = Field(default=None, max_length=80)
    status: str = Field(default="scheduled", max_length=20, index=True)
    # The change window around each bag's due time.
    change_window_before_minutes: int = Field(default=120)
    change_window_after_minutes: int = Field(default=0)
    # Fixed change days some institutions prefer (0 = Monday), e.g. [0, 3].
    preferred_change_weekdays: list[int] = json_list()
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=1000)


class Bag(Record, table=True):
    """One bag of a course: hung at, due at (= hung at + interval), changed at."""

    __table_args__ = (
        UniqueConstraint("course_id", "sequence"),
        # The "which bags are due soon" scan reads only bags still hanging.
        Index(
            "ix_bag_due_open",
            "due_at",
            postgresql_where=text("changed_at IS NULL"),
            sqlite_where=text("changed_at IS NULL"),
        ),
    )

    course_id: int = Field(foreign_key="course.id", index=True)
    sequence: int
    hung_at: datetime
    due_at: datetime
    changed_at: datetime | None = None
    volume_ml: float | None = None
    hung_by_nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    changed_by_nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    double_checked_by: str | None = Field(default=None, max_length=120)
    # Do not flush the line at a bag change: the nurse confirms it.
    no_flush_confirmed: bool | None = None
    # "early", "late" or empty when the change was inside the window.
    change_timing_flag: str | None = Field(default=None, max_length=20)
    # Why the bag came down: "changed", "course_completed" or "course_discontinued".
    end_reason: str | None = Field(default=None, max_length=30)


class PumpReport(Record, table=True):
    """A pump status reported by a nurse (or the system)."""

    __tablename__ = "pump_report"
    # A course's reports newest first, and its newest report time (the out-of-order check on
    # every report), read from the index rather than from every report of a 28-day course.
    __table_args__ = (Index("ix_pump_report_course_reported", "course_id", "reported_at"),)

    course_id: int = Field(foreign_key="course.id")
    bag_id: int | None = Field(default=None, foreign_key="bag.id")
    status: str = Field(max_length=20)
    alarm_type: str | None = Field(default=None, max_length=30)
    volume_infused_ml: float | None = None
    volume_remaining_ml: float | None = None
    battery_pct: int | None = None
    rate_ml_per_hour: float | None = None
    reported_at: datetime = Field(index=True)
    reported_by_nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    reported_by: str = Field(default="nurse", max_length=20)
    source: str = Field(default="api", max_length=20)
    idempotency_key: str | None = Field(default=None, max_length=100, unique=True)
    # Flags such as "out_of_order" or "rate_mismatch": stored, never silently fixed.
    flags: list[str] = json_list()
    # The bag hanging when the report came in (a reply names its due time).
    bag: Bag | None = Relationship()


class CourseEvent(Record, table=True):
    """A step in the course's life: ordered, started, paused, resumed, completed, ..."""

    __tablename__ = "course_event"

    course_id: int = Field(foreign_key="course.id", index=True)
    kind: str = Field(max_length=30)
    occurred_at: datetime
    actor: str | None = Field(default=None, max_length=160)
    details: dict = json_dict()


class CourseInterruption(Record, table=True):
    """A stretch when the infusion did not run (pump paused, stopped, course paused)."""

    __tablename__ = "course_interruption"

    course_id: int = Field(foreign_key="course.id", index=True)
    started_at: datetime
    ended_at: datetime | None = None
    reason: str = Field(max_length=40)
    pump_report_id: int | None = Field(default=None, foreign_key="pump_report.id")
