"""Tables that make phone steps, API retries and PIN guesses count once (issue 12)."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from opsbackend.models.base import Record, json_dict


class AcknowledgementPause(Record, table=True):
    """How long an acknowledged alert's ladder waits before it resumes, if the danger
    still stands. No site: the default; no alert kind: every kind."""

    __tablename__ = "acknowledgement_pause"
    __table_args__ = (UniqueConstraint("site_id", "alert_kind"),)

    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    alert_kind: str | None = Field(default=None, max_length=40)
    minutes: int


class CallStep(Record, table=True):
    """One step of a voice call (CallSid + step), claimed in the same transaction as its
    effect: a retried or parallel delivery of the step finds the claim and records nothing."""

    __tablename__ = "call_step"
    __table_args__ = (UniqueConstraint("call_sid", "step"),)

    call_sid: str = Field(max_length=64)
    step: str = Field(max_length=40)
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    # What the step answered, so a retry says the same (e.g. the hours to the next bag).
    outcome: dict = json_dict()


class BagChangeRequest(Record, table=True):
    """An API bag change's ``Idempotency-Key``: a retry returns the first result."""

    __tablename__ = "bag_change_request"
    __table_args__ = (UniqueConstraint("course_id", "idempotency_key"),)

    course_id: int = Field(foreign_key="course.id", index=True)
    idempotency_key: str = Field(max_length=120)
    body_hash: str = Field(max_length=64)
    new_bag_id: int | None = Field(default=None, foreign_key="bag.id")
    status_code: int = Field(default=201)
    response: dict = json_dict()


class PinGuard(Record, table=True):
    """Wrong PINs counted per nurse and per calling number; locked rows refuse every PIN
    until ``locked_until``. Read with a row lock, so parallel guesses count one by one."""

    __tablename__ = "pin_guard"
    __table_args__ = (UniqueConstraint("subject"),)

    subject: str = Field(max_length=60)  # "nurse:12" or "caller:+12135550100"
    failures: int = Field(default=0)
    window_started_at: datetime | None = None
    locked_until: datetime | None = None


class SmsOptOut(Record, table=True):
    """A phone that texted STOP (any phone: family, nurse, dispatch line, unknown), until
    it texts START. Twilio blocks SMS to it meanwhile."""

    __tablename__ = "sms_opt_out"

    phone: str = Field(max_length=20, unique=True)
    opted_out: bool = Field(default=True)
    changed_at: datetime
