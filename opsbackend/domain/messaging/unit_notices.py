"""What a unit's nurses hear when a dispatcher changes their day: a visit moved, or one
that is no longer theirs. Staff phones have no quiet hours."""

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.messaging import outbox, templates
from opsbackend.models import Home, Nurse, Patient, Site, Visit


def visit_moved(session: Session, clock: Clock, visit: Visit, unit_id: int) -> int:
    return _tell(session, clock, visit, unit_id, "unit.visit_moved",
                 lambda where, language: _window(visit, where, language))


def visit_removed(session: Session, clock: Clock, visit: Visit, unit_id: int,
                  why: str) -> int:
    """``why``: "cancelled", or "moved_off" (moved to a time the unit cannot make)."""
    return _tell(session, clock, visit, unit_id, "unit.visit_removed",
                 lambda where, language: {"why": templates.removal(
                     why, language, **_window(visit, where, language))})


def _tell(session, clock, visit: Visit, unit_id: int, template: str, values_for) -> int:
    where = session.execute(
        select(Patient.study_code, Home.city, Site.timezone)
        .join(Site, Site.id == Patient.site_id).outerjoin(Home, Home.patient_id == Patient.id)
        .where(Patient.id == visit.patient_id)
    ).one()
    stamp = (visit.window_changed_at or visit.updated_at or clock.now()).isoformat()
    queued = 0
    for nurse in session.scalars(select(Nurse).where(Nurse.unit_id == unit_id,
                                                     Nurse.active.is_(True))):
        values = {"visit_code": f"V{visit.id}", "study_code": where.study_code,
                  "city": where.city or "-"} | values_for(where, nurse.language)
        message = outbox.queue_message(
            session, clock, to_phone=nurse.phone,
            body=templates.render(template, nurse.language, **values), template=template,
            language=nurse.language, purpose="visit", nurse_id=nurse.id, visit_id=visit.id,
            course_id=visit.course_id,
            dedupe_key=f"{template}:{visit.id}:{unit_id}:{visit.status}:{stamp}:{nurse.id}",
        )
        queued += message is not None
    return queued


def _window(visit: Visit, where, language: str) -> dict:
    zone = where.timezone
    return {"day": templates.local_day(visit.window_start, zone, language),
            "start": templates.local_clock(visit.window_start, zone),
            "end": templates.local_clock(visit.window_end, zone),
            "eta": templates.local_clock(visit.eta, zone) if visit.eta else "-"}
