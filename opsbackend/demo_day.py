"""Demo data for the dispatcher's day (README, "The dispatcher's day"): a unit that has not
called in, a family waiting for a call, an SMS that could not be delivered, and an SMS
check-in with no location on the EVV exception queue.

Idempotent like the rest of the demo: each record is found by a fixed key first.
"""

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.messaging import callbacks, outbox
from opsbackend.domain.phone import check_ins
from opsbackend.models import Contact, Nurse, OutboundMessage, Patient, Unit, Visit

LATE_VISIT = "extra:demo:late-pump-check"
CHECKED_VISIT = "extra:demo:lab-draw"
FAILED_SMS = "demo:failed-sms"


def seed_day(session: Session, clock: Clock) -> None:
    now = clock.now()
    # WEST-2 should have been at W-002's for a pump check since 30 minutes ago: no call yet.
    _visit(session, LATE_VISIT, "W-002", "pump_check", now - timedelta(minutes=30),
           now + timedelta(minutes=90), unit="WEST-2")
    # Kevin (WEST-1) came and went at W-004's for a lab draw, by SMS from his own phone:
    # nothing says where he was, so both check-ins wait on the EVV exception queue.
    lab_draw, created = _visit(session, CHECKED_VISIT, "W-004", "lab_draw",
                               now - timedelta(minutes=90), now + timedelta(minutes=30),
                               unit="WEST-1")
    if created:
        kevin = session.scalars(select(Nurse).where(Nurse.phone == "+12135550132")).one()
        caller = check_ins.Caller(channel="sms", phone=kevin.phone)
        check_ins.arrive(session, clock, kevin, lab_draw, caller)
        check_ins.depart(session, clock, kevin, lab_draw, caller)
    # Ella's mother (NE-006) texted CALL: an open call-back for the CHOP desk.
    contact, patient = _family_of(session, "NE-006")
    callbacks.request_callback(session, clock, contact, patient)
    _failed_sms(session, clock, "W-003")
    session.flush()


def _visit(session, key, study_code, kind, start, end, unit):
    """The demo visit with this key, or a new one handed to the unit (its window is past,
    as a late unit's is: no judging)."""
    existing = session.scalars(select(Visit).where(Visit.dedupe_key == key)).first()
    if existing is not None:
        return existing, False
    patient = session.scalars(select(Patient).where(Patient.study_code == study_code)).one()
    unit_id = session.scalars(select(Unit.id).where(Unit.call_sign == unit)).one()
    visit = Visit(patient_id=patient.id, kind=kind, window_start=start, window_end=end,
                  service_minutes=30, required_skills=["pediatric"], dedupe_key=key,
                  unit_id=unit_id, status="assigned", assigned_at=start - timedelta(hours=2),
                  eta=start, notes="demo: the dispatcher's day")
    session.add(visit)
    session.flush()
    return visit, True


def _family_of(session, study_code):
    patient = session.scalars(select(Patient).where(Patient.study_code == study_code)).one()
    return patient.contacts[0], patient


def _failed_sms(session, clock, study_code) -> None:
    """A reminder to W-003's father that the carrier could not deliver (30003: unreachable
    handset): the scheduler raises a delivery_failed alert for it."""
    if session.scalars(select(OutboundMessage.id)
                       .where(OutboundMessage.dedupe_key == FAILED_SMS)).first():
        return
    contact: Contact = _family_of(session, study_code)[0]
    message = outbox.queue_message(
        session, clock, to_phone=contact.phone, template="reminder.day_before",
        body="Reminder: the infusion nurse visits Liam tomorrow.", purpose="reminder",
        contact=contact, dedupe_key=FAILED_SMS, hold_for_quiet_hours=False)
    message.status, message.attempts = "failed", 1
    message.last_error_code, message.last_error = "30003", "Unreachable destination handset"
