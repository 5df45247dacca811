"""Family reminders: the day before a visit and the morning of it, in the contact's time zone.

Quiet hours and opt-outs are the outbox's business (``outbox.queue_messages``);
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
    """Returns (visits examined, reminders queued).

    It runs every minute over the next day and a half of visits, most of whose reminders
    went out already: the visits, their patients, sites and contacts are one query, and
    the reminders due are queued together (``outbox.queue_messages``: one query finds
    those queued before), whatever the number of visits.
    """
    now = clock.now()
    rows = session.execute(
        select(Visit.id, Visit.course_id, Visit.window_start, Visit.window_end,
               Patient.first_name, Patient.study_code, Site.timezone, Contact)
        .join(Patient, Patient.id == Visit.patient_id)
        .join(Site, Site.id == Patient.site_id)
        .join(Contact, Contact.patient_id == Patient.id)
        .where(
            Visit.status.in_(("unassigned", "assigned", "en_route")),
            Visit.kind.in_(REMINDED_KINDS),
            Visit.window_start > now,
            Visit.window_start <= now + timedelta(hours=36),
            Contact.opted_out.is_(False),
        )
        .order_by(Visit.window_start, Visit.id, Contact.id)
    ).all()
    messages = []
    for visit_id, course_id, start, end, first_name, study_code, site_zone, contact in rows:
        zone = contact.timezone or site_zone
        for kind, send_at, stale_at in reminder_times(start, zone):
            if send_at <= now < stale_at:
                messages.append(_reminder(visit_id, course_id, start, end,
                                          first_name or study_code, contact, zone, kind))
    queued = outbox.queue_messages(session, clock, messages)
    return (len({row.id for row in rows}),
            sum(message.status == "queued" for message in queued))


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


def _reminder(visit_id, course_id, start, end, first_name, contact, zone, kind) -> dict:
    """One reminder, as ``outbox.queue_messages`` takes it. Its body is written only if it
    is new: for hours each minute's run offers again the reminders it queued already."""
    language = contact.language

    def body() -> str:
        return templates.render(
            f"reminder.{kind}", language, first_name=first_name,
            day=templates.local_day(start, zone, language),
            start=templates.local_clock(start, zone, language),
            end=templates.local_clock(end, zone, language))

    return dict(
        to_phone=contact.phone, template=f"reminder.{kind}", language=language,
        body=body, purpose="reminder", contact=contact, zone=zone, visit_id=visit_id,
        course_id=course_id, dedupe_key=f"reminder:{visit_id}:{contact.id}:{kind}",
    )
