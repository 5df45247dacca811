"""Stretches when the infusion did not run. At most one is open per course."""

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session

from opsbackend.domain.history.deviations import record_deviation
from opsbackend.domain.rules import TimelineRules
from opsbackend.models import Course, CourseInterruption, Patient

# Built once, as every pump report reads it (see ``records._by_id``).
_OPEN_INTERRUPTION = select(CourseInterruption).where(
    CourseInterruption.course_id == bindparam("course_id"), CourseInterruption.ended_at.is_(None)
)


def open_interruption(session: Session, course: Course) -> CourseInterruption | None:
    return session.scalars(_OPEN_INTERRUPTION, {"course_id": course.id}).first()


def start_interruption(
    session: Session, course: Course, at: datetime, reason: str, pump_report_id=None
) -> CourseInterruption:
    current = open_interruption(session, course)
    if current is not None:
        return current
    interruption = CourseInterruption(
        course_id=course.id, started_at=at, reason=reason, pump_report_id=pump_report_id
    )
    session.add(interruption)
    session.flush()
    return interruption


def end_interruption(
    session: Session, course: Course, at: datetime, rules: TimelineRules, *, reasons=None
) -> CourseInterruption | None:
    """Close the open interruption (if its reason is one of ``reasons``) and judge its length."""
    current = open_interruption(session, course)
    if current is None or (reasons is not None and current.reason not in reasons):
        return None
    current.ended_at = max(at, current.started_at)
    session.flush()
    flag_long_interruption(session, course, current, current.ended_at, rules)
    return current


def flag_long_interruption(
    session: Session, course: Course, interruption: CourseInterruption, now: datetime,
    rules: TimelineRules,
) -> None:
    """An interruption at or past the threshold is a deviation, once (open or closed)."""
    length = (interruption.ended_at or now) - interruption.started_at
    if length < rules.interruption_deviation_after:
        return
    deviation = record_deviation(
        session,
        kind="infusion_interruption",
        dedupe_key=f"interruption:{interruption.id}",
        patient=session.get(Patient, course.patient_id),
        occurred_at=interruption.started_at + rules.interruption_deviation_after,
        course_id=course.id,
        minutes=int(length.total_seconds() // 60),
        evidence={
            "interruption_id": interruption.id,
            "reason": interruption.reason,
            "started_at": interruption.started_at.isoformat(),
            "ended_at": interruption.ended_at.isoformat() if interruption.ended_at else None,
        },
    )
    # Found while still open, then closed: the record keeps the final length.
    deviation.minutes = int(length.total_seconds() // 60)
    deviation.evidence = deviation.evidence | {
        "ended_at": interruption.ended_at.isoformat() if interruption.ended_at else None
    }
