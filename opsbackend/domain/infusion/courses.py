"""Infusion courses: the order. Its lifecycle is in ``course_lifecycle``."""

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.errors import Conflict
from opsbackend.domain.infusion import clinical, visit_schedule
from opsbackend.domain.records import (
    Page,
    apply_changes,
    get_or_404,
    paginate,
    require_reference,
)
from opsbackend.domain.rules import DEFAULT_RULES, TimelineRules
from opsbackend.domain.scope import Scope
from opsbackend.models import Course, CourseEvent, Patient

# Fields that define the order; they are fixed once the course has started.
ORDER_FIELDS = {"patient_id", "drug", "planned_start_at", "duration_days", "bag_interval_hours"}


def create_course(
    session: Session, clock: Clock, data: dict, rules: TimelineRules = DEFAULT_RULES
) -> Course:
    data = dict(data)
    require_reference(session, Patient, data["patient_id"], "patient_id")
    data.setdefault("rate_ml_per_hour", clinical.label_rate(data["bag_interval_hours"]))
    course = Course(**data)
    session.add(course)
    session.flush()
    session.add(CourseEvent(course_id=course.id, kind="ordered", occurred_at=clock.now(),
                            actor=session.info.get("actor")))
    visit_schedule.sync_course_visits(session, clock, course, rules)
    return course


def update_course(
    session: Session, clock: Clock, course_id: int, changes: dict,
    rules: TimelineRules = DEFAULT_RULES,
) -> Course:
    course = get_or_404(session, Course, course_id, for_update=True)
    locked = ORDER_FIELDS & changes.keys()
    if locked and course.status != "scheduled":
        field = sorted(locked)[0]
        raise Conflict(
            f"{field} cannot change once the course is {course.status}", field=field
        )
    require_reference(session, Patient, changes.get("patient_id"), "patient_id")
    apply_changes(course, changes)
    session.flush()
    # A rescheduled start or a new change window moves the visits with it.
    visit_schedule.sync_course_visits(session, clock, course, rules)
    return course


def list_courses(
    session: Session, scope: Scope, *, page: int, page_size: int, patient_id=None, site_id=None,
    status=None, study_code=None,
) -> Page:
    stmt = (select(Course).join(Patient, Patient.id == Course.patient_id)
            .where(scope.where(Patient.site_id)).order_by(Course.id))
    if patient_id is not None:
        stmt = stmt.where(Course.patient_id == patient_id)
    if site_id is not None:
        stmt = stmt.where(Patient.site_id == site_id)
    if study_code is not None:
        stmt = stmt.where(Patient.study_code == study_code)
    if status is not None:
        stmt = stmt.where(Course.status == status)
    return paginate(session, stmt, page, page_size)


def warnings_for(session: Session, course: Course) -> list[clinical.Warning]:
    patient = session.get(Patient, course.patient_id)
    return clinical.course_warnings(
        course.bag_interval_hours, course.rate_ml_per_hour, patient.weight_kg
    )
