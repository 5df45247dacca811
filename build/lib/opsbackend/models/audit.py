from datetime import datetime

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    """Who did what to which record, when, before and after. Append-only."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_record", "table_name", "record_id"),)
    # The audit trail does not audit itself.
    __audited__ = False

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(index=True)
    actor: str = Field(max_length=160)
    action: str = Field(max_length=40)
    table_name: str = Field(max_length=60)
    record_id: str = Field(max_length=60)
    changes: dict | None = Field(default=None, sa_type=JSON)
    request_id: str | None = Field(default=None, max_length=64)
