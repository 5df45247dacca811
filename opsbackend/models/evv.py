from datetime import datetime

from sqlmodel import Field

from opsbackend.models.base import Record

EVV_EXCEPTION_KINDS = (
    "caller_id_mismatch",
    "outside_window",
    "not_assigned_unit",
    "no_location",
)
EVV_EXCEPTION_STATUSES = ("open", "cleared")
# How a supervisor clears an exception, after the reason codes EVV vendors use.
EVV_REASON_CODES = (
    "phone_not_available",
    "gps_not_available",
    "caregiver_error",
    "verified_by_call_back",
    "verified_by_family",
    "schedule_changed_by_office",
    "emergency_visit",
    "technical_problem",
)


class EvvException(Record, table=True):
    """A check-in that did not verify, on the queue until a supervisor clears it."""

    __tablename__ = "evv_exception"

    site_id: int = Field(foreign_key="site.id", index=True)
    visit_id: int | None = Field(default=None, foreign_key="visit.id", index=True)
    check_in_id: int | None = Field(default=None, foreign_key="check_in.id")
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    kind: str = Field(max_length=40)
    detail: str | None = Field(default=None, max_length=300)
    status: str = Field(default="open", max_length=20, index=True)
    cleared_at: datetime | None = None
    cleared_by: str | None = Field(default=None, max_length=160)
    reason_code: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=500)
