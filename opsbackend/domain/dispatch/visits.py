"""Visits: reading them, their states, and marking missed ones."""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.errors import Conflict, NotFound
from opsbackend.domain.history.deviations import record_deviation
from opsbackend.domain.labels import label_page, label_visits
from opsbackend.domain.records import Page, get_or_404, paginate
from opsbackend.domain.scope import Scope
from opsbackend.models import Patient, Visit

TRANSITIONS = {
    "unassigned": {"assigned", "on_site", "completed", "cancelled", "missed"},
    "assigned": {"unassigned", "en_route", "on_site", "completed", "cancelled", "missed"},
    "en_route": {"assigned", "on_site", "completed", "cancelled", "missed"},
    "on_site": {"completed", "cancelled"},
    "completed": set(),
    "cancelled": set(),
    # Late is not never: a nurse who arrives after the window still records the visit.
    "missed": {"on_site", "completed"},
}
# A visit still not done this long after its window closed is missed.
MISSED_AFTER = timedelta(minutes=15)


def set_status(visit: Visit, to: str, at: datetime) -> Visit:
    if to not in TRANSITIONS[visit.status]:
        raise Conflict(f"visit V{visit.id} is {visit.status}; it cannot become {to}",
                       field="status", reason="visit_transition", visit=visit.id,
                       status=visit.status, to=to)
    visit.status = to
    if to == "on_site":
        visit.arrived_at = at
    elif to == "completed":
        visit.completed_at = at
    return visit


def mark_missed_visits(session: Session, clock: Clock) -> list[Visit]:
    """Visits whose window closed without them being done: missed, with a deviation each."""
    cutoff = clock.now() - MISSED_AFTER
    overdue = session.scalars(
        select(Visit).where(
            Visit.status.in_(("unassigned", "assigned", "en_route")),
            Visit.window_end < cutoff,
        )
    ).all()
    for visit in overdue:
        visit.status = "missed"
        record_deviation(
            session,
            kind="missed_visit",
            dedupe_key=f"missed_visit:{visit.id}",
            patient=session.get(Patient, visit.patient_id),
            occurred_at=visit.window_end,
            course_id=visit.course_id,
            bag_id=visit.bag_id,
            visit_id=visit.id,
            evidence={"visit_id": visit.id, "kind": visit.kind,
                      "window_start": visit.window_start.isoformat(),
                      "window_end": visit.window_end.isoformat()},
        )
    session.flush()
    return list(overdue)


def visit_in_scope(session: Session, scope: Scope, visit_id: int, *,
                   for_update: bool = False) -> Visit:
    """The visit, if it belongs to one of the caller's sites; else "not found"."""
    visit = get_or_404(session, Visit, visit_id, for_update=for_update)
    if not scope.covers(site_id_of(session, visit)):
        raise NotFound(f"Visit {visit_id} does not exist")
    return visit


def site_id_of(session: Session, visit: Visit) -> int:
    return session.scalar(select(Patient.site_id).where(Patient.id == visit.patient_id))


def list_visits(
    session: Session, scope: Scope, *, page: int, page_size: int, course_id=None,
    patient_id=None, site_id=None, unit_id=None, status=None, kind=None, since=None,
    until=None,
) -> Page:
    """Visits by window start, each with its patient's study code and area and its unit's
    call sign."""
    stmt = select(Visit).order_by(Visit.window_start, Visit.id)
    if not scope.is_global:
        stmt = stmt.join(Patient, Patient.id == Visit.patient_id).where(
            scope.where(Patient.site_id))
    if course_id is not None:
        stmt = stmt.where(Visit.course_id == course_id)
    if patient_id is not None:
        stmt = stmt.where(Visit.patient_id == patient_id)
    if site_id is not None:
        stmt = stmt.where(Visit.patient_id.in_(select(Patient.id).where(
            Patient.site_id == site_id)))
    if unit_id is not None:
        stmt = stmt.where(Visit.unit_id == unit_id)
    if status is not None:
        stmt = stmt.where(Visit.status == status)
    if kind is not None:
        stmt = stmt.where(Visit.kind == kind)
    if since is not None:
        stmt = stmt.where(Visit.window_end >= since)
    if until is not None:
        stmt = stmt.where(Visit.window_start < until)
    return label_page(session, paginate(session, stmt, page, page_size), label_visits)
