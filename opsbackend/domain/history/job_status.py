"""What the scheduler did lately: each job's last run and the current leader."""

from sqlalchemy import func, select
from sqlmodel import Session

from opsbackend.models import JobRun, SchedulerHeartbeat


def last_runs(session: Session) -> list[JobRun]:
    latest = (
        select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    )
    return list(session.scalars(
        select(JobRun).join(latest, JobRun.id == latest.c.id).order_by(JobRun.job)
    ))


def leader(session: Session) -> SchedulerHeartbeat | None:
    return session.get(SchedulerHeartbeat, "scheduler")
