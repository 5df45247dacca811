"""A dispatcher's changes to the day: extra visits, moving a visit, cancelling one.

Moves and cancellations name a reason code (``VISIT_REASON_CODES``), which the audit
trail keeps with who did it. A bag-change visit keeps its bag: its window may not end
after the bag is due (plus the course's allowance) unless the dispatcher confirms a late
change, recorded as a protocol deviation. The family and the unit are told by SMS, and
the unit's ETAs are rewritten in the same transaction.
"""

from datetime import datetime, timedelta
from uuid import uuid4

from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.domain.dispatch import assignment, unit_day, visits
from opsbackend.domain.errors import Conflict, Invalid
from opsbackend.domain.history.audit import record_event
from opsbackend.domain.history.deviations import record_deviation
from opsbackend.domain.infusion.course_lifecycle import hanging_bag
from opsbackend.domain.infusion.visit_schedule import active_skill_rules, required_skills
from opsbackend.domain.messaging import family_notices, unit_notices
from opsbackend.domain.rules import DEFAULT_RULES, TimelineRules
from opsbackend.domain.scope import Scope
from opsbackend.models import Alert, Bag, Course, Patient, Visit

OPEN = ("unassigned", "assigned", "en_route", "on_site")
MOVABLE = ("unassigned", "assigned")
CANCELLABLE = ("unassigned", "assigned", "en_route")
FURTHEST_AHEAD = timedelta(days=90)
LONGEST_WINDOW = timedelta(hours=24)
EXTRA = "extra:"  # the key prefix of visits a dispatcher created


def create_visit(session: Session, clock: Clock, scope: Scope, data: dict, travel,
                 rules: TimelineRules = DEFAULT_RULES) -> Visit:
    """An extra visit (a pump check, a lab draw, a bag change brought forward, ...)."""
    patient = _patient(session, scope, data["patient_id"])
    course = _course(session, patient, data.get("course_id"))
    kind, start, end = data["kind"], data["window_start"], data["window_end"]
    _check_window(clock, start, end)
    bag = _bag_for(session, kind, course, data.get("bag_id"))
    visit = Visit(
        patient_id=patient.id, course_id=course.id if course else None,
        bag_id=bag.id if bag else None, kind=kind, window_start=start, window_end=end,
        service_minutes=data.get("service_minutes") or rules.service_minutes.get(kind, 45),
        required_skills=_skills(session, clock, patient, kind, data.get("required_skills")),
        notes=data.get("notes"), reason_code=data.get("reason_code"),
        dedupe_key=f"{EXTRA}{patient.id}:{uuid4().hex}",
    )
    session.add(visit)
    session.flush()
    _check_due(session, clock, visit, data.get("confirm_late", False), visit.reason_code)
    if data.get("unit_id") is not None:
        assignment.assign(session, clock, scope, visit.id, data["unit_id"], travel)
    return visit


def move_visit(session: Session, clock: Clock, scope: Scope, visit_id: int, changes: dict,
               travel, rules: TimelineRules = DEFAULT_RULES) -> Visit:
    """Move the window, change the kind, the service time, the skills or the notes.

    ``changes`` carries ``reason_code`` (required), and may carry ``note`` and
    ``confirm_late``. A moved visit stays with its unit when the unit can still make it
    (with a new ETA), and goes back on the board when it cannot.
    """
    changes = dict(changes)
    reason, note = changes.pop("reason_code"), changes.pop("note", None)
    confirm_late = changes.pop("confirm_late", False)
    visit = visits.visit_in_scope(session, scope, visit_id, for_update=True)
    start = changes.pop("window_start", visit.window_start)
    end = changes.pop("window_end", visit.window_end)
    moves = (start, end) != (visit.window_start, visit.window_end)
    replans = moves or bool({"kind", "service_minutes", "required_skills"} & set(changes))
    allowed = MOVABLE if replans else OPEN
    if visit.status not in allowed:
        raise Conflict(f"V{visit.id} is {visit.status}; only a visit that is "
                       f"{' or '.join(allowed)} can be changed this way", field="status")
    before, unit_id = _snapshot(visit), visit.unit_id
    was, was_end = visit.window_start, visit.window_end
    if moves:
        _check_window(clock, start, end)
        visit.window_start, visit.window_end = start, end
        visit.rescheduled_at = visit.window_changed_at = clock.now()
    if "kind" in changes:
        _change_kind(session, clock, visit, changes.pop("kind"))
        changes.setdefault("service_minutes", rules.service_minutes.get(visit.kind, 45))
    if "required_skills" in changes:  # as on creation: the rules' skills and these
        visit.required_skills = _skills(session, clock, session.get(Patient, visit.patient_id),
                                        visit.kind, changes.pop("required_skills"))
    for name, value in changes.items():  # notes, service_minutes
        setattr(visit, name, value)
    visit.reason_code = reason
    session.flush()
    _check_due(session, clock, visit, confirm_late, reason)
    record_event(session, clock, action="move" if moves else "change", table_name="visit",
                 record_id=visit.id, details={"reason_code": reason, "note": note,
                                              "before": before, "after": _snapshot(visit)})
    if replans and unit_id is not None:
        kept = assignment.refit(session, clock, visit, travel,
                                (min(was, start) - unit_day.NEIGHBOURHOOD,
                                 max(was_end, end) + unit_day.NEIGHBOURHOOD))
        _tell_unit(session, clock, visit, unit_id, kept, moves)
    if moves:
        family_notices.visit_changed(session, clock, visit, by_dispatcher=True, was=was)
    return visit


def cancel_visit(session: Session, clock: Clock, scope: Scope, visit_id: int, reason_code: str,
                 note: str | None, travel) -> Visit:
    """Cancel a visit that has not started; it keeps its unit on record, off the unit's day."""
    visit = visits.visit_in_scope(session, scope, visit_id, for_update=True)
    if visit.status not in CANCELLABLE:
        raise Conflict(f"V{visit.id} is {visit.status}; only a visit not started yet can be "
                       "cancelled", field="status")
    visits.set_status(visit, "cancelled", clock.now())
    visit.cancelled_at, visit.reason_code = clock.now(), reason_code
    session.flush()
    record_event(session, clock, action="cancel", table_name="visit", record_id=visit.id,
                 details={"reason_code": reason_code, "note": note, "unit_id": visit.unit_id})
    alerts.resolve_where(session, clock, f"the visit was cancelled ({reason_code})",
                         Alert.visit_id == visit.id,
                         Alert.kind.in_(("unassigned_visit", "late_unit")))
    if visit.unit_id is not None:
        unit_day.retime(session, clock.now(), visit.unit_id, unit_day.around(visit), travel)
        unit_notices.visit_removed(session, clock, visit, visit.unit_id, "cancelled")
    family_notices.visit_cancelled(session, clock, visit, by_dispatcher=True)
    return visit


def bag_due_by(session: Session, visit: Visit) -> datetime | None:
    """The latest a bag-change visit may end: its bag's due time plus the course's
    allowance after it; None for other visits and bags already changed."""
    if visit.kind != "bag_change" or visit.course_id is None:
        return None
    course = session.get(Course, visit.course_id)
    allowance = timedelta(minutes=course.change_window_after_minutes)
    if visit.bag_id is not None:
        bag = session.get(Bag, visit.bag_id)
        return None if bag.changed_at else bag.due_at + allowance
    hanging, sequence = hanging_bag(session, course), _planned_sequence(visit)
    if hanging is None or sequence is None:
        return None
    return (hanging.due_at + (sequence - hanging.sequence)
            * timedelta(hours=course.bag_interval_hours) + allowance)


def _check_due(session, clock, visit: Visit, confirm_late: bool, reason: str | None) -> None:
    due_by = bag_due_by(session, visit)
    if due_by is None or visit.window_end <= due_by:
        return
    if not confirm_late:
        raise Conflict(f"the bag is due by {due_by.isoformat()}: a window ending "
                       f"{visit.window_end.isoformat()} plans a late change; send "
                       "confirm_late: true to plan it anyway (a protocol deviation)",
                       field="window_end")
    minutes = int((visit.window_end - due_by).total_seconds() // 60)
    record_deviation(
        session, kind="planned_late_bag_change", patient=session.get(Patient, visit.patient_id),
        dedupe_key=f"planned_late_bag_change:{visit.id}:{visit.window_end.isoformat()}",
        occurred_at=clock.now(), course_id=visit.course_id, bag_id=visit.bag_id,
        visit_id=visit.id, minutes=minutes,
        evidence={"due_by": due_by.isoformat(), "window_end": visit.window_end.isoformat(),
                  "reason_code": reason, "confirmed_by": session.info.get("actor", "system")})


def _change_kind(session, clock, visit: Visit, kind: str) -> None:
    if kind == visit.kind:
        return
    if not visit.dedupe_key.startswith(EXTRA):
        raise Invalid(f"V{visit.id} comes from the schedule and keeps its kind; cancel it and "
                      "create an extra visit instead", field="kind")
    course = session.get(Course, visit.course_id) if visit.course_id else None
    visit.bag_id = getattr(_bag_for(session, kind, course, None), "id", None)
    visit.kind = kind
    visit.required_skills = _skills(session, clock, session.get(Patient, visit.patient_id),
                                    kind, None)


def _tell_unit(session, clock, visit: Visit, unit_id: int, kept: bool, moved: bool) -> None:
    if not kept:
        unit_notices.visit_removed(session, clock, visit, unit_id, "moved_off")
    elif moved:
        unit_notices.visit_moved(session, clock, visit, unit_id)


def _patient(session, scope: Scope, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None or not scope.covers(patient.site_id):
        raise Invalid(f"Patient {patient_id} does not exist", field="patient_id")
    return patient


def _course(session, patient: Patient, course_id: int | None) -> Course | None:
    if course_id is None:
        return None
    course = session.get(Course, course_id)
    if course is None or course.patient_id != patient.id:
        raise Invalid(f"Course {course_id} is not a course of this patient", field="course_id")
    return course


def _bag_for(session, kind: str, course: Course | None, bag_id: int | None) -> Bag | None:
    """A bag change is for the bag hanging now (brought forward); no other kind has a bag."""
    if kind != "bag_change":
        if bag_id is not None:
            raise Invalid("only a bag change has a bag", field="bag_id")
        return None
    if course is None or course.status != "active":
        raise Invalid("a bag change needs the patient's active course", field="course_id")
    bag = hanging_bag(session, course)
    if bag is None or (bag_id is not None and bag_id != bag.id):
        raise Invalid(f"a bag change is for the bag hanging on course {course.id} now",
                      field="bag_id")
    return bag


def _skills(session, clock, patient: Patient, kind: str, given) -> list[str]:
    """The skill rules' skills for this patient and kind, and any the dispatcher adds."""
    ruled = required_skills(active_skill_rules(session), patient, kind, clock.now().date())
    return sorted(set(ruled) | set(given or ()))


def _check_window(clock, start: datetime, end: datetime) -> None:
    if end <= start:
        raise Invalid("the window must end after it starts", field="window_end")
    if end - start > LONGEST_WINDOW:
        raise Invalid("a visit window is at most 24 hours", field="window_end")
    if end <= clock.now():
        raise Invalid("the window has already closed", field="window_end")
    if start > clock.now() + FURTHEST_AHEAD:
        raise Invalid("the window is more than 90 days ahead", field="window_start")


def _planned_sequence(visit: Visit) -> int | None:
    kind, _, rest = visit.dedupe_key.partition(":")
    parts = rest.split(":")
    if kind != "bag_change" or len(parts) != 2 or not parts[1].isdigit():
        return None
    return int(parts[1])


def _snapshot(visit: Visit) -> dict:
    """What a move or change is about, as the audit trail keeps it."""
    return {"window_start": visit.window_start.isoformat(),
            "window_end": visit.window_end.isoformat(), "kind": visit.kind,
            "unit_id": visit.unit_id, "eta": visit.eta.isoformat() if visit.eta else None,
            "service_minutes": visit.service_minutes, "notes": visit.notes}

