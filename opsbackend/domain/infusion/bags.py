"""Bag changes and the bag schedule of a course."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

from sqlalchemy import exists, select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.domain.errors import Conflict, Invalid
from opsbackend.domain.history.deviations import record_deviation
from opsbackend.domain.infusion import visit_schedule
from opsbackend.domain.infusion.bag_record import BagLabel, BagWarning, record_hung_bag
from opsbackend.domain.infusion.course_lifecycle import checked_time, hang_bag, hanging_bag
from opsbackend.domain.infusion.course_progress import Progress, course_progress
from opsbackend.domain.records import get_or_404
from opsbackend.domain.rules import DEFAULT_RULES, TimelineRules
from opsbackend.models import Alert, Bag, Course, Patient


@dataclass(frozen=True)
class BagChange:
    old_bag: Bag
    new_bag: Bag
    # What was wrong with the new bag as hung (expired, out of the fridge too long, ...).
    warnings: tuple[BagWarning, ...] = ()


@dataclass(frozen=True)
class BagSchedule:
    course: Course
    hanging_bag: Bag | None
    time_left: timedelta | None
    bags_remaining: int | None
    progress: Progress | None


def change_window(course: Course, bag: Bag) -> tuple[datetime, datetime]:
    return (
        bag.due_at - timedelta(minutes=course.change_window_before_minutes),
        bag.due_at + timedelta(minutes=course.change_window_after_minutes),
    )


def change_bag(
    session: Session, clock: Clock, course_id: int, *, changed_at: datetime | None = None,
    nurse_id: int | None = None, volume_ml: float | None = None,
    double_checked_by: str | None = None, no_flush_confirmed: bool | None = None,
    rules: TimelineRules = DEFAULT_RULES, label: BagLabel | None = None,
    unit_id: int | None = None,
) -> BagChange:
    """Close the hanging bag and hang the next. Outside the window it is flagged; late is a
    deviation."""
    course = get_or_404(session, Course, course_id, for_update=True)
    if course.status != "active":
        raise Conflict(
            f"course {course_id} is {course.status}; bags are changed on an active course only",
            field="status", reason="course_not_active", status=course.status,
        )
    if no_flush_confirmed is not True:
        # Flushing the line at a change has caused overdoses: no change without the word.
        raise Invalid("confirm the line was not flushed (no_flush_confirmed: true)",
                      field="no_flush_confirmed", reason="no_flush_unconfirmed")
    old = hanging_bag(session, course)
    at = checked_time(clock, changed_at, rules, "changed_at", not_before=old.hung_at)
    capacity = volume_ml if volume_ml is not None else course.bag_volume_ml
    if volume_ml is not None and volume_ml <= 0:
        raise Invalid("volume_ml must be above zero", field="volume_ml")
    opens, closes = change_window(course, old)
    old.changed_at = at
    old.changed_by_nurse_id = nurse_id
    old.end_reason = "changed"
    old.change_timing_flag = "early" if at < opens else "late" if at > closes else None
    old.double_checked_by = double_checked_by
    old.no_flush_confirmed = no_flush_confirmed
    new = hang_bag(
        session, course, sequence=old.sequence + 1, at=at, volume_ml=capacity, nurse_id=nurse_id
    )
    if at > old.due_at:
        _late_change_deviation(session, course, old, at)
    visit_schedule.complete_bag_change_visit(session, course, old, at)
    visit_schedule.sync_course_visits(session, clock, course, rules)
    alerts.resolve_where(
        session, clock, f"bag {old.sequence} changed at {at.isoformat()}",
        Alert.bag_id == old.id, Alert.kind.in_(("missed_bag_change", "at_risk")),
    )
    limits = rules.bag_limits.for_bag(course.drug, course.bag_interval_hours)
    warnings = record_hung_bag(session, clock, course, old, new, label or BagLabel(), limits,
                               unit_id)
    return BagChange(old_bag=old, new_bag=new, warnings=tuple(warnings))


def bag_schedule(session: Session, clock: Clock, course_id: int) -> BagSchedule:
    course = get_or_404(session, Course, course_id)
    now = clock.now()
    progress = course_progress(session, course, now)
    bag = hanging_bag(session, course) if course.status in ("active", "paused") else None
    if bag is None or progress is None:
        return BagSchedule(course, None, None, None if progress is None else 0, progress)
    after_this_bag = progress.projected_end_at - bag.due_at
    remaining = max(ceil(after_this_bag / timedelta(hours=course.bag_interval_hours)), 0)
    return BagSchedule(course, bag, bag.due_at - now, remaining, progress)


def list_bags(session: Session, course_id: int) -> list[Bag]:
    get_or_404(session, Course, course_id)
    return list(
        session.scalars(select(Bag).where(Bag.course_id == course_id).order_by(Bag.sequence))
    )


def _late_change_deviation(session: Session, course: Course, bag: Bag, at: datetime) -> None:
    minutes_late = int((at - bag.due_at).total_seconds() // 60)
    record_deviation(
        session,
        kind="late_bag_change",
        dedupe_key=f"late_bag_change:{bag.id}",
        patient=session.get(Patient, course.patient_id),
        occurred_at=at,
        course_id=course.id,
        bag_id=bag.id,
        minutes=minutes_late,
        evidence={"bag_id": bag.id, "sequence": bag.sequence,
                  "due_at": bag.due_at.isoformat(), "changed_at": at.isoformat()},
    )



def due_bags(session: Session, until: datetime) -> list[Bag]:
    """Bags still hanging on active courses, due (or overdue) by ``until``, soonest first.

    It reads the partial index on open bags' due times and looks each course up by
    key, so its cost grows with the bags due, not with the number of courses.
    """
    return list(session.scalars(due_bags_query(until)))


def due_bags_query(until: datetime):
    active = exists().where(Course.id == Bag.course_id, Course.status == "active")
    return (
        select(Bag)
        .where(Bag.changed_at.is_(None), Bag.due_at <= until, active)
        .order_by(Bag.due_at)
    )
