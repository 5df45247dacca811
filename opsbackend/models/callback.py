from datetime import datetime

from sqlmodel import Field

from opsbackend.models.base import Record

CALLBACK_STATUSES = ("open", "done")
CALLBACK_OUTCOMES = ("reached", "left_voicemail", "no_answer", "wrong_number", "not_needed")


class CallbackRequest(Record, table=True):
    """A family asked to be called (CALL / LLAMAR): a task on the dispatcher's list."""

    __tablename__ = "callback_request"

    site_id: int = Field(foreign_key="site.id", index=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    contact_id: int = Field(foreign_key="contact.id")
    phone: str = Field(max_length=20)
    requested_at: datetime
    status: str = Field(default="open", max_length=20, index=True)
    done_at: datetime | None = None
    done_by: str | None = Field(default=None, max_length=160)
    inbound_message_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    outcome: str | None = Field(default=None, max_length=30)
    note: str | None = Field(default=None, max_length=500)
