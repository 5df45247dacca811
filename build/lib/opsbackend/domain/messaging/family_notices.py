"""What families hear about a visit: the nurse is on the way, the visit moved, it is off.

These go out at once, quiet hours or not: they are about someone at the door now or a
plan the family relies on. Opted-out contacts are suppressed by the outbox as always.
"""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.messaging import outbox, templates
from opsbackend.models import Contact, Patient, Site, Visit

# Changes and cancellations matter to families for visits this close.
NOTICE_HORIZON = timedelta(hours=36)


def on_the_way(session: Session, clock: Clock, visit: Visit, eta: datetime) -> int:
    return _tell(session, clock, visit, "visit.on_the_way",
                 lambda zone, _language: {"eta": templates.local_clock(eta, zone)},
                 key=f"on_the_way:{visit.id}:{eta.isoformat()}")


def visit_changed(session: Session, clock: Clock, visit: Visit) -> int:
    if not _soon(clock, visit):
        return 0
    return _tell(session, clock, visit, "visit.changed",
                 lambda zone, language: _window(visit, zone, language),
                 key=f"changed:{visit.id}:{visit.window_start.isoformat()}:{visit.eta}")


def visit_cancelled(session: Session, clock: Clock, visit: Visit) -> int:
    if not _soon(clock, visit):
        return 0
    return _tell(session, clock, visit, "visit.cancelled",
                 lambda zone, language: _window(visit, zone, language),
                 key=f"cancelled:{visit.id}:{visit.window_start.isoformat()}")


def _tell(session, clock, visit, template, values_for, key) -> int:
    patient = session.get(Patient, visit.patient_id)
    site = session.get(Site, patient.site_id)
    queued = 0
    for contact in session.scalars(select(Contact).where(Contact.patient_id == patient.id)):
        zone = contact.timezone or site.timezone
        values = ({"first_name": patient.first_name or patient.study_code}
                  | values_for(zone, contact.language))
        message = outbox.queue_message(
            session, clock, to_phone=contact.phone,
            body=templates.render(template, contact.language, **values), template=template,
            language=contact.language, purpose="visit", contact=contact, visit_id=visit.id,
            course_id=visit.course_id, dedupe_key=f"{key}:{contact.id}",
        )
        queued += message is not None
    return queued


def _soon(clock: Clock, visit: Visit) -> bool:
    now = clock.now()
    return visit.window_end >= now and visit.window_start <= now + NOTICE_HORIZON


def _window(visit: Visit, zone: str, language: str) -> dict:
    start = visit.eta or visit.window_start
    return {"day": templates.local_day(start, zone, language),
            "start": templates.local_clock(start, zone),
            "end": templates.local_clock(visit.window_end, zone)}
