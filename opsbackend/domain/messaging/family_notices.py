"""What families hear about a visit: the nurse is on the way or running late, the visit
moved, it is off.

"On the way" and "running late" go out at once, quiet hours or not: someone is at the
door soon. A change or cancellation waits out the contact's quiet hours unless it
concerns today (the old or the new day), when it cannot wait for the morning. Opted-out
contacts are suppressed by the outbox as always; a notice that is outdated by the time
it is sent (the visit moved again, started, ended) is suppressed by the sender
(``outdated``).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.messaging import outbox, templates
from opsbackend.models import Contact, Patient, Site, Visit

# Changes the schedule makes by itself matter to families for visits this close.
NOTICE_HORIZON = timedelta(hours=36)


def on_the_way(session: Session, clock: Clock, visit: Visit, eta: datetime) -> int:
    return _tell(session, clock, visit, "visit.on_the_way",
                 lambda zone, language: {"eta": templates.local_clock(eta, zone, language)},
                 key=f"on_the_way:{visit.id}:{eta.isoformat()}")


def running_late(session: Session, clock: Clock, visit: Visit, eta: datetime) -> int:
    return _tell(session, clock, visit, "visit.running_late",
                 lambda zone, _language: {"eta": templates.local_clock(eta, zone)},
                 key=f"running_late:{visit.id}:{eta.isoformat()}")


def visit_changed(session: Session, clock: Clock, visit: Visit, *, by_dispatcher=False,
                  was: datetime | None = None) -> int:
    """``was``: the window's start before a move (a change concerning today goes at once)."""
    if not _worth_telling(clock, visit, by_dispatcher):
        return 0
    stamp = (visit.window_changed_at or visit.window_start).isoformat()
    return _tell(session, clock, visit, "visit.changed",
                 lambda zone, language: _window(visit, zone, language),
                 key=f"changed:{visit.id}:{stamp}:{visit.window_start.isoformat()}:{visit.eta}",
                 quiet_unless_on=[visit.window_start, was or visit.window_start])


def visit_cancelled(session: Session, clock: Clock, visit: Visit, *,
                    by_dispatcher=False) -> int:
    if not _worth_telling(clock, visit, by_dispatcher):
        return 0
    return _tell(session, clock, visit, "visit.cancelled",
                 lambda zone, language: _window(visit, zone, language),
                 key=f"cancelled:{visit.id}:{visit.window_start.isoformat()}",
                 quiet_unless_on=[visit.window_start])


def _tell(session, clock, visit, template, values_for, key, quiet_unless_on=None) -> int:
    patient = session.get(Patient, visit.patient_id)
    site = session.get(Site, patient.site_id)
    queued = 0
    for contact in session.scalars(select(Contact).where(Contact.patient_id == patient.id)):
        zone = contact.timezone or site.timezone
        values = ({"first_name": patient.first_name or patient.study_code}
                  | values_for(zone, contact.language))
        hold = (None if quiet_unless_on is None
                else not _today(clock.now(), quiet_unless_on, zone))
        message = outbox.queue_message(
            session, clock, to_phone=contact.phone,
            body=templates.render(template, contact.language, **values), template=template,
            language=contact.language, purpose="visit", contact=contact, visit_id=visit.id,
            course_id=visit.course_id, dedupe_key=f"{key}:{contact.id}",
            hold_for_quiet_hours=hold,
        )
        queued += message is not None
    return queued


def _worth_telling(clock: Clock, visit: Visit, by_dispatcher: bool) -> bool:
    """A dispatcher's change is told whenever the visit is still ahead; the schedule's own
    changes only for visits close enough for the family to be counting on them."""
    now = clock.now()
    if visit.window_end < now:
        return False
    return by_dispatcher or visit.window_start <= now + NOTICE_HORIZON


def _today(now: datetime, moments: list[datetime], zone: str) -> bool:
    today = now.astimezone(ZoneInfo(zone)).date()
    return any(moment.astimezone(ZoneInfo(zone)).date() == today for moment in moments)


def _window(visit: Visit, zone: str, language: str) -> dict:
    start = visit.eta or visit.window_start
    return {"day": templates.local_day(start, zone, language),
            "start": templates.local_clock(start, zone, language),
            "end": templates.local_clock(visit.window_end, zone, language)}
