"""The course state machine: scheduled -> active -> (paused <-> active) -> completed | discontinued.

Every transition goes through a function here; each records a course event and
keeps the course's visits in step.
"""

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.errors import Conflict, Invalid
from opsbackend.domain.history.deviations import record_deviation
from opsbackend.domain.infusion import interruptions, visit_schedule
from opsbackend.domain.infusion.course_progress import course_progress
from opsbackend.domain.records import get_or_404
from opsbackend.domain.rules import DEFAULT_RULES, TimelineRules
from opsbackend.models import Bag, Course, CourseEvent, Patient

STOPPING_PUMP_STATES = ("paused", "stopped")


def start_course(
    session: Session, clock: Clock, course_id: int, at: datetime | None = None,
    rules: TimelineRules = DEFAULT_RULES, *, volume_ml: float | None = None, nurse_id=None,
) -> Course:
    """The pump is connected: bag 1 hangs from the start time. Refused while the patient
    has another course running (or paused): one pump, one course at a time."""
    course = _transition(session, course_id, ("scheduled",), "active")
    _only_course_running(session, course)
    at = checked_time(clock, at, rules, "at")
    course.started_at = at
    hang_bag(session, course, sequence=1, at=at, volume_ml=volume_ml, nurse_id=nurse_id)
    _event(session, course, "started", at)
    visit_schedule.sync_course_visits(session, clock, course, rules)
    return course


def _only_course_running(session: Session, course: Course) -> None:
    # The patient's row is locked, so two courses started at once are checked in turn.
    session.scalars(select(Patient.id).where(Patient.id == course.patient_id)
                    .with_for_update(key_share=True)).first()
    other = session.scalars(select(Course).where(
        Course.patient_id == course.patient_id, Course.id != course.id,
        Course.status.in_(("active", "paused"))).order_by(Course.id)).first()
    if other is not None:
        raise Conflict(f"the patient's course {other.id} is {other.status}; end it before "
                       f"starting course {course.id}", field="status",
                       reason="another_course_running", course=other.id)


def pause_course(
    session: Session, clock: Clock, course_id: int, at: datetime | None = None,
    rules: TimelineRules = DEFAULT_RULES, *, reason: str = "",
) -> Course:
    """A clinical hold: the course clock stops until resumed."""
    course = _transition(session, course_id, ("active",), "paused")
    at = checked_time(clock, at, rules, "at", not_before=course.started_at)
    # One open interruption at a time: the hold takes over from a stopped pump.
    interruptions.end_interruption(session, course, at, rules)
    interruptions.start_interruption(session, course, at, "course_paused")
    _event(session, course, "paused", at, reason=reason)
    visit_schedule.sync_course_visits(session, clock, course, rules)
    return course


def resume_course(
    session: Session, clock: Clock, course_id: int, at: datetime | None = None,
    rules: TimelineRules = DEFAULT_RULES,
) -> Course:
    course = _transition(session, course_id, ("paused",), "active")
    current = interruptions.open_interruption(session, course)
    at = checked_time(clock, at, rules, "at", not_before=current.started_at if current else None)
    interruptions.end_interruption(session, course, at, rules, reasons=("course_paused",))
    _event(session, course, "resumed", at)
    visit_schedule.sync_course_visits(session, clock, course, rules)
    return course


def discontinue_course(
    session: Session, clock: Clock, course_id: int, at: datetime | None = None,
    rules: TimelineRules = DEFAULT_RULES, *, reason: str,
) -> Course:
    """Stop the course for good. Before its duration was delivered, that is a deviation."""
    course = _transition(session, course_id, ("scheduled", "active", "paused"), "discontinued")
    at = checked_time(clock, at, rules, "at", not_before=course.started_at)
    was_running = course.started_at is not None
    interruptions.end_interruption(session, course, at, rules)
    course.ended_at = at
    course.end_reason = reason
    close_hanging_bag(session, course, at, "course_discontinued")
    _event(session, course, "discontinued", at, reason=reason)
    if was_running:
        progress = course_progress(session, course, at)
        record_deviation(
            session,
            kind="early_discontinuation",
            dedupe_key=f"early_discontinuation:{course.id}",
            patient=session.get(Patient, course.patient_id),
            occurred_at=at,
            course_id=course.id,
            minutes=int(progress.remaining.total_seconds() // 60),
            evidence={"reason": reason, "infused_hours": _hours(progress.infused),
                      "remaining_hours": _hours(progress.remaining)},
        )
    visit_schedule.sync_course_visits(session, clock, course, rules)
    return course


def complete_if_delivered(
    session: Session, clock: Clock, course: Course, rules: TimelineRules = DEFAULT_RULES
) -> bool:
    """Complete an active course whose infusion time has been delivered."""
    if course.status != "active":
        return False
    progress = course_progress(session, course, clock.now())
    if progress.open_interruption is not None or progress.remaining > timedelta(0):
        return False
    course.status = "completed"
    course.ended_at = progress.projected_end_at
    close_hanging_bag(session, course, course.ended_at, "course_completed")
    _event(session, course, "completed", course.ended_at)
    visit_schedule.sync_course_visits(session, clock, course, rules)
    return True


def complete_delivered_courses(
    session: Session, clock: Clock, rules: TimelineRules = DEFAULT_RULES
) -> int:
    """The job's query: active courses whose 28 days could be delivered by now."""
    now = clock.now()
    candidates = session.scalars(
        select(Course).where(Course.status == "active", Course.started_at.is_not(None))
    ).all()
    return sum(
        complete_if_delivered(session, clock, course, rules)
        for course in candidates
        if course.started_at + timedelta(days=course.duration_days) <= now
    )


def hang_bag(
    session: Session, course: Course, *, sequence: int, at: datetime, volume_ml=None,
    nurse_id=None,
) -> Bag:
    bag = Bag(
        course_id=course.id,
        sequence=sequence,
        hung_at=at,
        # Durations are added in UTC: a daylight-saving change never shifts a due time.
        due_at=at + timedelta(hours=course.bag_interval_hours),
        volume_ml=volume_ml if volume_ml is not None else course.bag_volume_ml,
        hung_by_nurse_id=nurse_id,
    )
    session.add(bag)
    session.flush()
    return bag


# Built once, as every pump report and bag change reads it (see ``records._by_id``).
_HANGING_BAG = (select(Bag)
                .where(Bag.course_id == bindparam("course_id"), Bag.changed_at.is_(None))
                .order_by(Bag.sequence.desc()))


def hanging_bag(session: Session, course: Course) -> Bag | None:
    return session.scalars(_HANGING_BAG, {"course_id": course.id}).first()


def close_hanging_bag(session: Session, course: Course, at: datetime, reason: str) -> None:
    bag = hanging_bag(session, course)
    if bag is not None:
        bag.changed_at = max(at, bag.hung_at)
        bag.end_reason = reason
        session.flush()


def checked_time(
    clock: Clock, at: datetime | None, rules: TimelineRules, field: str, *, not_before=None
) -> datetime:
    """A reported time: now when not given; never ahead of the clock beyond the skew."""
    now = clock.now()
    if at is None:
        return now
    if at > now + rules.clock_skew:
        raise Invalid(f"{field} is in the future ({at.isoformat()})", field=field)
    if not_before is not None and at < not_before:
        raise Invalid(f"{field} is before {not_before.isoformat()}", field=field)
    return at


def _transition(session: Session, course_id: int, allowed_from: tuple, to: str) -> Course:
    course = get_or_404(session, Course, course_id, for_update=True)
    if course.status not in allowed_from:
        raise Conflict(
            f"course {course_id} is {course.status}; it cannot become {to}", field="status"
        )
    course.status = to
    return course


def _event(session: Session, course: Course, kind: str, at: datetime, **details) -> None:
    session.add(
        CourseEvent(
            course_id=course.id, kind=kind, occurred_at=at,
            actor=session.info.get("actor"), details={k: v for k, v in details.items() if v},
        )
    )
    session.flush()


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)
