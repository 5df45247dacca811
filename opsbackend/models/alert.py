from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from opsbackend.models.base import Record, json_dict, json_list

ALERT_KINDS = (
    "missed_bag_change",
    "at_risk",
    "pump_alarm_unresolved",
    "unassigned_visit",
    "late_unit",
    "bag_warning",
    "webhook_disabled",
    # No scheduler has led for a while: nothing else is being watched (jobs/watch.py).
    "scheduler_down",
    "callback_overdue",
    "delivery_failed",
    # A nurse's phone or a dispatch line texted STOP: alert SMS cannot reach it.
    "staff_opted_out",
)
# Why an alert was resolved by hand (issue 12): only when its danger no longer stands.
RESOLUTION_REASONS = ("changed", "course_paused", "course_discontinued", "duplicate", "other")
ALERT_STATUSES = ("open", "acknowledged", "resolved")
ESCALATION_TARGETS = ("nurse", "dispatcher", "on_call")
DEVIATION_KINDS = (
    "late_bag_change",
    "infusion_interruption",
    "missed_visit",
    "early_discontinuation",
    "bag_expired",
    "bag_room_time_exceeded",
    "bag_storage_time_exceeded",
    "bag_temperature_excursion",
    "bag_volume_short",
    "planned_late_bag_change",
)


class Alert(Record, table=True):
    """Something that needs a human; raised once per cause (``dedupe_key``)."""

    kind: str = Field(max_length=40, index=True)
    dedupe_key: str = Field(max_length=120, unique=True)
    status: str = Field(default="open", max_length=20, index=True)
    severity: str = Field(default="high", max_length=10)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    course_id: int | None = Field(default=None, foreign_key="course.id")
    bag_id: int | None = Field(default=None, foreign_key="bag.id", index=True)
    visit_id: int | None = Field(default=None, foreign_key="visit.id", index=True)
    pump_report_id: int | None = Field(default=None, foreign_key="pump_report.id")
    summary: str = Field(max_length=300)
    raised_at: datetime
    # When the condition began (grace expired, alarm unresolved too long, ...): the
    # start of the time to the first SMS that the metrics measure. None on old rows.
    condition_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = Field(default=None, max_length=120)
    resolved_at: datetime | None = None
    resolved_by: str | None = Field(default=None, max_length=120)
    resolution: str | None = Field(default=None, max_length=300)
    resolution_reason: str | None = Field(default=None, max_length=30)
    duplicate_of_id: int | None = Field(default=None, foreign_key="alert.id")
    escalation_step: int = Field(default=0)
    next_escalation_at: datetime | None = Field(default=None, index=True)


class EscalationStep(Record, table=True):
    """One rung of a site's escalation ladder: who is messaged, and how long after the last rung.

    Rows with no site are the default ladder; rows with no alert kind apply to every kind.
    """

    __tablename__ = "escalation_step"
    __table_args__ = (UniqueConstraint("site_id", "alert_kind", "step"),)

    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    alert_kind: str | None = Field(default=None, max_length=40)
    step: int
    after_minutes: int
    # Who gets the SMS: any of "nurse", "dispatcher", "on_call".
    targets: list[str] = json_list()


class Deviation(Record, table=True):
    """A protocol deviation: the trial's record, written once per cause."""

    kind: str = Field(max_length=40, index=True)
    dedupe_key: str = Field(max_length=120, unique=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    course_id: int | None = Field(default=None, foreign_key="course.id")
    bag_id: int | None = Field(default=None, foreign_key="bag.id")
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    occurred_at: datetime = Field(index=True)
    minutes: int | None = None
    evidence: dict = json_dict()
