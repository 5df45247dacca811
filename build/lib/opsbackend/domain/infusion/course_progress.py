"""How far a course has got: the 28-day clock counts infusion time, not calendar time."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.models import Course, CourseInterruption


@dataclass(frozen=True)
class Progress:
    started_at: datetime
    infused: timedelta
    interrupted: timedelta
    remaining: timedelta
    projected_end_at: datetime
    open_interruption: CourseInterruption | None


def course_progress(session: Session, course: Course, now: datetime) -> Progress | None:
    """None for a course that has not started."""
    if course.started_at is None:
        return None
    interruptions = session.scalars(
        select(CourseInterruption).where(CourseInterruption.course_id == course.id)
    ).all()
    return progress_from(course, interruptions, now)


def progress_from(course: Course, interruptions, now: datetime) -> Progress:
    """The same, from interruptions already loaded (the visit generator reads them in bulk)."""
    until = course.ended_at or now
    interrupted = sum(
        (_overlap(i.started_at, i.ended_at or until, course.started_at, until)
         for i in interruptions),
        timedelta(0),
    )
    infused = (until - course.started_at) - interrupted
    duration = timedelta(days=course.duration_days)
    open_interruption = next((i for i in interruptions if i.ended_at is None), None)
    return Progress(
        started_at=course.started_at,
        infused=infused,
        interrupted=interrupted,
        remaining=max(duration - infused, timedelta(0)),
        projected_end_at=course.ended_at or course.started_at + duration + interrupted,
        open_interruption=open_interruption,
    )


def _overlap(start: datetime, end: datetime, lower: datetime, upper: datetime) -> timedelta:
    return max(min(end, upper) - max(start, lower), timedelta(0))
