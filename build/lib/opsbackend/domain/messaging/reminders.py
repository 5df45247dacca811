"""Family reminders: the day before a visit and the morning of it, in the contact's time zone.

Quiet hours and opt-outs are the outbox's business (``outbox.queue_message``);
each reminder has a key per visit, contact and kind, so it is queued once.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.messaging import outbox, templates
from opsbackend.models import Contact, Patient, Site, Visit

DAY_BEFORE_AT = time(18, 0)
DAY_OF_AT = time(8, 0)
REMINDED_KINDS = ("course_start", "bag_change", "course_end")


def queue_due_reminders(session: Session, clock: Clock) -> tuple[int, int]:
    """Returns (visits examined, reminders queued)."""
    now = clock.now()
    upcoming = session.scalars(
        select(Visit).where(
            Visit.status.in_(("unassigned", "assigned", "en_route")),
            Visit.kind.in_(REMINDED_KINDS),
            Visit.window_start > now,
            Visit.window_start <= now + timedelta(hours=36),
        )
    ).all()
    queued = 0
    for visit in upcoming:
        patient = session.get(Patient, visit.patient_id)
        site = session.get(Site, patient.site_id)
        contacts = session.scalars(
            select(Contact).where(Contact.patient_id == patient.id,
                                  Contact.opted_out.is_(False))
        ).all()
        for contact in contacts:
            zone = contact.timezone or site.timezone
            for kind, send_at, stale_at in reminder_times(visit.window_start, zone):
                if send_at <= now < stale_at:
                    queued += _queue(session, clock, visit, patient, contact, zone, kind)
    return len(upcoming), queued


def reminder_times(start: datetime, zone: str) -> list[tuple[str, datetime, datetime]]:
    """(kind, due from, no longer worth sending from) for a visit starting at ``start``.

    "Tomorrow" is wrong once the visit's day has begun; "today" once the visit started.
    """
    tz = ZoneInfo(zone)
    local_start = start.astimezone(tz)
    day = local_start.date()
    midnight = datetime.combine(day, time(0), tz)
    times = [("day_before", datetime.combine(day - timedelta(days=1), DAY_BEFORE_AT, tz),
              midnight)]
    morning = datetime.combine(day, DAY_OF_AT, tz)
    if local_start - morning >= timedelta(minutes=30):
        times.append(("day_of", morning, start))
    return times


def _queue(session, clock, visit, patient, contact, zone, kind) -> int:
    values = {
        "first_name": patient.first_name or patient.study_code,
        "day": templates.local_day(visit.window_start, zone, contact.language),
        "start": templates.local_clock(visit.window_start, zone),
        "end": templates.local_clock(visit.window_end, zone),
    }
    message = outbox.queue_message(
        session, clock, to_phone=contact.phone,
        body=templates.render(f"reminder.{kind}", contact.language, **values),
        template=f"reminder.{kind}", language=contact.language, purpose="reminder",
        contact=contact, visit_id=visit.id, course_id=visit.course_id,
        dedupe_key=f"reminder:{visit.id}:{contact.id}:{kind}",
    )
    return int(message is not None and message.status == "queued")
