"""Visits generated from the bag schedule, kept in step with it.

Each planned visit has a key (``bag_change:{course}:{sequence}``,
``course_start:{course}``, ``course_end:{course}``) stored as the visit's
unique ``dedupe_key``: running the generator twice changes nothing, a moved
bag moves its visit, and a visit no longer planned is cancelled, never left
behind.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.infusion.course_progress import progress_from
from opsbackend.domain.interop.webhook_events import visit_event
from opsbackend.domain.messaging import family_notices
from opsbackend.domain.registry.patients import age_in_months
from opsbackend.domain.rules import DEFAULT_RULES, TimelineRules
from opsbackend.models import Bag, Course, CourseInterruption, Patient, SkillRule, Visit

OPEN_VISIT_STATUSES = ("unassigned", "assigned", "en_route", "on_site")
DONE_VISIT_STATUSES = ("completed", "missed")
GENERATED_KINDS = ("course_start", "bag_change", "course_end")
# The generator reads courses' bags, interruptions and visits this many at a time.
BATCH = 500


@dataclass(frozen=True)
class PlannedVisit:
    key: str
    kind: str
    window_start: datetime
    window_end: datetime
    bag_id: int | None = None


@dataclass
class CourseState:
    """What planning a course's visits needs, loaded one course or one batch at a time."""

    course: Course
    patient: Patient
    hanging_bag: Bag | None = None
    interruptions: list[CourseInterruption] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)


def sync_course_visits(
    session: Session, clock: Clock, course: Course, rules: TimelineRules = DEFAULT_RULES
) -> None:
    [state] = load_states(session, [course])
    _sync(session, clock, state, rules, active_skill_rules(session))
    session.flush()


def generate_visits(session: Session, clock: Clock, rules: TimelineRules = DEFAULT_RULES) -> int:
    """Keep every open course's visits generated ahead; returns the courses examined."""
    skill_rules = active_skill_rules(session)
    courses = session.scalars(
        select(Course).where(Course.status.in_(("scheduled", "active"))).order_by(Course.id)
    ).all()
    for start in range(0, len(courses), BATCH):
        for state in load_states(session, courses[start:start + BATCH]):
            _sync(session, clock, state, rules, skill_rules)
        session.flush()
    return len(courses)


def load_states(session: Session, courses: list[Course]) -> list[CourseState]:
    ids = [course.id for course in courses]
    patients = {
        p.id: p
        for p in session.scalars(
            select(Patient).where(Patient.id.in_({c.patient_id for c in courses}))
        )
    }
    states = {c.id: CourseState(course=c, patient=patients[c.patient_id]) for c in courses}
    for bag in session.scalars(
        select(Bag).where(Bag.course_id.in_(ids), Bag.changed_at.is_(None))
    ):
        state = states[bag.course_id]
        if state.hanging_bag is None or bag.sequence > state.hanging_bag.sequence:
            state.hanging_bag = bag
    by_course = defaultdict(list)
    for interruption in session.scalars(
        select(CourseInterruption).where(CourseInterruption.course_id.in_(ids))
    ):
        by_course[interruption.course_id].append(interruption)
    for visit in session.scalars(select(Visit).where(Visit.course_id.in_(ids))):
        states[visit.course_id].visits.append(visit)
    for course_id, interruptions in by_course.items():
        states[course_id].interruptions = interruptions
    return list(states.values())


def planned_visits(
    state: CourseState, now: datetime, rules: TimelineRules, horizon_end: datetime
) -> list[PlannedVisit]:
    course = state.course
    if course.status == "scheduled":
        start = course.planned_start_at
        return [PlannedVisit(f"course_start:{course.id}", "course_start",
                             start - rules.start_window_before, start + rules.start_window_after)]
    if course.status in ("completed", "discontinued") and course.started_at is not None:
        return [_end_visit(course, course.ended_at, rules)]
    if course.status != "active" or state.hanging_bag is None:
        return []  # paused: nothing to do at the home until the course resumes
    end = progress_from(course, state.interruptions, now).projected_end_at
    bag = state.hanging_bag
    plans = []
    due, sequence = bag.due_at, bag.sequence
    interval = timedelta(hours=course.bag_interval_hours)
    before = timedelta(minutes=course.change_window_before_minutes)
    after = timedelta(minutes=course.change_window_after_minutes)
    while due < end and due - before <= horizon_end:
        plans.append(PlannedVisit(
            f"bag_change:{course.id}:{sequence}", "bag_change", due - before, due + after,
            bag.id if sequence == bag.sequence else None,
        ))
        due, sequence = due + interval, sequence + 1
    if end <= horizon_end:
        plans.append(_end_visit(course, end, rules))
    return plans


def complete_bag_change_visit(session: Session, course: Course, bag: Bag, at: datetime) -> None:
    visit = session.scalars(
        select(Visit).where(Visit.dedupe_key == f"bag_change:{course.id}:{bag.sequence}")
    ).first()
    if visit is not None and visit.status == "on_site":
        visit.bag_id = bag.id  # the nurse is still there: the visit ends when they leave
        session.flush()
    elif visit is not None and visit.status != "completed":
        visit.status = "completed"
        visit.completed_at = at
        visit.bag_id = bag.id
        session.flush()
        visit_event(session, "visit.completed", visit)


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


def _sync(session, clock, state: CourseState, rules, skill_rules) -> None:
    now = clock.now()
    existing = {visit.dedupe_key: visit for visit in state.visits}
    # Visits already generated further out than the horizon stay planned, not cancelled.
    furthest_open = max(
        (v.window_start for v in state.visits if v.status in OPEN_VISIT_STATUSES), default=now
    )
    horizon_end = max(now + rules.visit_horizon, furthest_open)
    planned = {p.key: p for p in planned_visits(state, now, rules, horizon_end)}
    for key, plan in planned.items():
        skills = required_skills(skill_rules, state.patient, plan.kind, now.date())
        _upsert(session, existing.get(key), state.course, plan, skills, rules, now)
    for key, visit in existing.items():
        # A dispatcher's extra visit stays; so does one a nurse is at (a bag changed at
        # it is no longer planned, and the visit ends when the nurse leaves).
        if key not in planned and visit.kind in GENERATED_KINDS and (
            visit.status in OPEN_VISIT_STATUSES and visit.status != "on_site"
        ) and key.split(":")[0] in GENERATED_KINDS:
            visit.status = "cancelled"
            visit_event(session, "visit.cancelled", visit)
            if visit.unit_id is not None:  # a planned visit the family was counting on
                family_notices.visit_cancelled(session, clock, visit)


def _end_visit(course: Course, end: datetime, rules: TimelineRules) -> PlannedVisit:
    return PlannedVisit(f"course_end:{course.id}", "course_end", end, end + rules.end_window_after)


def _upsert(session, visit, course, plan: PlannedVisit, skills, rules, now) -> None:
    if visit is None:
        session.add(Visit(
            course_id=course.id, patient_id=course.patient_id, bag_id=plan.bag_id,
            kind=plan.kind, window_start=plan.window_start, window_end=plan.window_end,
            service_minutes=rules.service_minutes.get(plan.kind, 45), required_skills=skills,
            dedupe_key=plan.key,
        ))
        return
    if visit.status in DONE_VISIT_STATUSES:
        return
    if visit.status == "cancelled":
        if visit.cancelled_at is not None:
            return  # a dispatcher cancelled it: that decision stands
        # Planned again (e.g. the course resumed): back on the dispatch board.
        visit.status, visit.unit_id, visit.assigned_at = "unassigned", None, None
    changes = dict(bag_id=plan.bag_id or visit.bag_id, required_skills=skills)
    if visit.rescheduled_at is None:  # a window a dispatcher set is kept
        changes |= dict(window_start=plan.window_start, window_end=plan.window_end)
    for name, value in changes.items():
        if getattr(visit, name) != value:
            setattr(visit, name, value)
            if name.startswith("window"):
                visit.window_changed_at = now
