"""What the scheduler did lately: each job's last run and the current leader, and
whether either has gone quiet (no tick for three of its intervals)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from opsbackend.models import JobRun, SchedulerHeartbeat

# A leader or a job that has not ticked for this many of its intervals is stale.
STALE_AFTER_INTERVALS = 3


@dataclass(frozen=True)
class LeaderStatus:
    heartbeat: SchedulerHeartbeat | None
    seconds_since_heartbeat: float | None
    stale: bool

    @property
    def state(self) -> str:
        if self.heartbeat is None:
            return "no_leader"
        return "stale" if self.stale else "ok"


def last_runs(session: Session) -> list[JobRun]:
    latest = (
        select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    )
    return list(session.scalars(
        select(JobRun).join(latest, JobRun.id == latest.c.id).order_by(JobRun.job)
    ))


def leader(session: Session) -> SchedulerHeartbeat | None:
    return session.get(SchedulerHeartbeat, "scheduler")


def leader_status(session: Session, now: datetime, tick: timedelta) -> LeaderStatus:
    beat = leader(session)
    if beat is None:
        return LeaderStatus(None, None, True)
    age = (now - beat.heartbeat_at).total_seconds()
    return LeaderStatus(beat, age, age > (tick * STALE_AFTER_INTERVALS).total_seconds())


def job_is_stale(run: JobRun, now: datetime, interval: timedelta | None) -> bool:
    return interval is not None and now - run.started_at > interval * STALE_AFTER_INTERVALS


def scheduler_report(session: Session, now: datetime, tick: timedelta,
                     intervals: dict[str, timedelta]) -> dict:
    """The leader, each job's last run, and which of them went quiet."""
    status = leader_status(session, now, tick)
    jobs = []
    for run in last_runs(session):
        interval = intervals.get(run.job)
        jobs.append({
            **run.model_dump(), "stale": job_is_stale(run, now, interval),
            "interval_seconds": interval.total_seconds() if interval else None,
        })
    leader_row = None
    if status.heartbeat is not None:
        leader_row = {"leader": status.heartbeat.leader,
                      "heartbeat_at": status.heartbeat.heartbeat_at,
                      "seconds_since_heartbeat": round(status.seconds_since_heartbeat, 1),
                      "stale": status.stale}
    return {"status": status.state, "leader": leader_row, "jobs": jobs}
