"""Visits generated from the bag schedule, kept in step with it.

Each planned visit has a key (``bag_change:{course}:{sequence}``,
``course_start:{course}``, ``course_end:{course}``) stored as the visit's
unique ``dedupe_key``: running the generator twice changes nothing, a moved
bag moves its visit, and a visit no longer planned is cancelled, never left
behind.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.course_progress import course_progress
from opsbackend.domain.patients import age_in_months
from opsbackend.domain.rules import DEFAULT_RULES, TimelineRules
from opsbackend.models import Bag, Course, Patient, SkillRule, Visit

OPEN_VISIT_STATUSES = ("unassigned", "assigned", "en_route", "on_site")
DONE_VISIT_STATUSES = ("completed", "missed")
GENERATED_KINDS = ("course_start", "bag_change", "course_end")


@dataclass(frozen=True)
class PlannedVisit:
    key: str
    kind: str
    window_start: datetime
    window_end: datetime
    bag_id: int | None = None


def sync_course_visits(
    session: Session, clock: Clock, course: Course, rules: TimelineRules = DEFAULT_RULES,
    skill_rules: list[SkillRule] | None = None,
) -> None:
    existing = {
        visit.dedupe_key: visit
        for visit in session.scalars(select(Visit).where(Visit.course_id == course.id))
    }
    furthest_open = max(
        (v.window_start for v in existing.values() if v.status in OPEN_VISIT_STATUSES),
        default=None,
    )
    planned = {p.key: p for p in planned_visits(session, clock, course, rules, furthest_open)}
    patient = session.get(Patient, course.patient_id)
    if skill_rules is None:
        skill_rules = active_skill_rules(session)
    today = clock.now().date()
    for key, plan in planned.items():
        skills = required_skills(skill_rules, patient, plan.kind, today)
        _upsert(session, existing.get(key), course, plan, skills, rules)
    for key, visit in existing.items():
        if key not in planned and visit.kind in GENERATED_KINDS and (
            visit.status in OPEN_VISIT_STATUSES
        ):
            visit.status = "cancelled"
    session.flush()


def planned_visits(
    session: Session, clock: Clock, course: Course, rules: TimelineRules,
    furthest_open: datetime | None = None,
) -> list[PlannedVisit]:
    now = clock.now()
    horizon_end = max(now + rules.visit_horizon, furthest_open or now)
    if course.status == "scheduled":
        start = course.planned_start_at
        return [PlannedVisit(f"course_start:{course.id}", "course_start",
                             start - rules.start_window_before, start + rules.start_window_after)]
    if course.status in ("completed", "discontinued") and course.started_at is not None:
        return [_end_visit(course, course.ended_at, rules)]
    if course.status != "active":
        return []  # paused: nothing to do at the home until the course resumes
    progress = course_progress(session, course, now)
    bag = _hanging_bag(session, course)
    plans = []
    due, sequence = bag.due_at, bag.sequence
    interval = timedelta(hours=course.bag_interval_hours)
    before = timedelta(minutes=course.change_window_before_minutes)
    after = timedelta(minutes=course.change_window_after_minutes)
    while due < progress.projected_end_at and due - before <= horizon_end:
        plans.append(PlannedVisit(
            f"bag_change:{course.id}:{sequence}", "bag_change", due - before, due + after,
            bag.id if sequence == bag.sequence else None,
        ))
        due, sequence = due + interval, sequence + 1
    if progress.projected_end_at <= horizon_end:
        plans.append(_end_visit(course, progress.projected_end_at, rules))
    return plans


def complete_bag_change_visit(session: Session, course: Course, bag: Bag, at: datetime) -> None:
    visit = session.scalars(
        select(Visit).where(Visit.dedupe_key == f"bag_change:{course.id}:{bag.sequence}")
    ).first()
    if visit is not None and visit.status != "completed":
        visit.status = "completed"
        visit.completed_at = at
        visit.bag_id = bag.id
        session.flush()


def generate_visits(session: Session, clock: Clock, rules: TimelineRules = DEFAULT_RULES) -> int:
    """Keep every open course's visits generated ahead; returns the courses examined."""
    skill_rules = active_skill_rules(session)
    courses = session.scalars(
        select(Course).where(Course.status.in_(("scheduled", "active"))).order_by(Course.id)
    ).all()
    for course in courses:
        sync_course_visits(session, clock, course, rules, skill_rules)
    return len(courses)


def active_skill_rules(session: Session) -> list[SkillRule]:
    return list(session.scalars(select(SkillRule).where(SkillRule.active.is_(True))))


def required_skills(
    skill_rules: list[SkillRule], patient: Patient, kind: str, today: date
) -> list[str]:
    age = age_in_months(patient, today)
    return sorted({
        rule.skill
        for rule in skill_rules
        if (rule.min_age_months is None or age >= rule.min_age_months)
        and (rule.max_age_months is None or age < rule.max_age_months)
        and (rule.visit_kind is None or rule.visit_kind == kind)
        and (rule.site_id is None or rule.site_id == patient.site_id)
    })


def _end_visit(course: Course, end: datetime, rules: TimelineRules) -> PlannedVisit:
    return PlannedVisit(f"course_end:{course.id}", "course_end", end, end + rules.end_window_after)


def _upsert(session, visit, course, plan: PlannedVisit, skills, rules) -> None:
    service = rules.service_minutes.get(plan.kind, 45)
    if visit is None:
        session.add(Visit(
            course_id=course.id, patient_id=course.patient_id, bag_id=plan.bag_id,
            kind=plan.kind, window_start=plan.window_start, window_end=plan.window_end,
            service_minutes=service, required_skills=skills, dedupe_key=plan.key,
        ))
        return
    if visit.status in DONE_VISIT_STATUSES:
        return
    if visit.status == "cancelled":
        # Planned again (e.g. the course resumed): back on the dispatch board.
        visit.status, visit.unit_id, visit.assigned_at = "unassigned", None, None
    changes = dict(window_start=plan.window_start, window_end=plan.window_end,
                   bag_id=plan.bag_id or visit.bag_id, required_skills=skills)
    for name, value in changes.items():
        if getattr(visit, name) != value:
            setattr(visit, name, value)


def _hanging_bag(session: Session, course: Course) -> Bag:
    return session.scalars(
        select(Bag)
        .where(Bag.course_id == course.id, Bag.changed_at.is_(None))
        .order_by(Bag.sequence.desc())
    ).first()
