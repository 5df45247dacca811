from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field

from opsbackend.models.base import Record

OUTBOUND_STATUSES = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "suppressed",
)
MESSAGE_PURPOSES = ("safety", "visit", "reminder", "info")


class OutboundMessage(Record, table=True):
    """One SMS in the outbox, written in the same transaction as its cause."""

    __tablename__ = "outbound_message"

    __table_args__ = (Index("ix_outbound_message_due", "status", "next_attempt_at"),)

    to_phone: str = Field(max_length=20, index=True)
    body: str = Field(max_length=1600)
    template: str = Field(max_length=60)
    language: str = Field(default="en", max_length=8)
    purpose: str = Field(default="info", max_length=20)
    # The sender takes due messages lowest first, then oldest (outbox.ALERT_PRIORITY,
    # PURPOSE_PRIORITY).
    priority: int = Field(default=3)
    status: str = Field(default="queued", max_length=20)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = None
    # When a sender took it ("sending"): a row stuck there is checked with the provider.
    claimed_at: datetime | None = None
    last_error_code: str | None = Field(default=None, max_length=20)
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    suppressed_reason: str | None = Field(default=None, max_length=40)
    dedupe_key: str | None = Field(default=None, max_length=160, unique=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    alert_id: int | None = Field(default=None, foreign_key="alert.id", index=True)
    course_id: int | None = Field(default=None, foreign_key="course.id")


class InboundMessage(Record, table=True):
    """One inbound SMS, stored once by the provider's MessageSid."""

    __tablename__ = "inbound_message"

    provider_sid: str = Field(max_length=64, unique=True)
    from_phone: str = Field(max_length=20, index=True)
    to_phone: str | None = Field(default=None, max_length=20)
    body: str = Field(max_length=1600)
    received_at: datetime
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    handled_as: str | None = Field(default=None, max_length=40)
    reply_body: str | None = Field(default=None, max_length=1600)
