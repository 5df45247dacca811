from datetime import datetime

from sqlmodel import Field, SQLModel


class JobRun(SQLModel, table=True):
    """One run of a scheduled job: when, how long, what it did."""

    __tablename__ = "job_run"
    # Bookkeeping, not a change to a record people act on.
    __audited__ = False

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=40, index=True)
    started_at: datetime = Field(index=True)
    duration_ms: float
    outcome: str = Field(max_length=10)
    examined: int = Field(default=0)
    alerts_raised: int = Field(default=0)
    messages_queued: int = Field(default=0)
    error: str | None = Field(default=None, max_length=500)
    runner: str = Field(max_length=120)


class SchedulerHeartbeat(SQLModel, table=True):
    """Which scheduler process leads, and when it last said so."""

    __tablename__ = "scheduler_heartbeat"
    __audited__ = False

    name: str = Field(primary_key=True, max_length=40)
    leader: str = Field(max_length=120)
    heartbeat_at: datetime
