"""A message to a family or a nurse that could not be delivered raises a
``delivery_failed`` alert, once the outbox has stopped trying (failed: a permanent error
or the retries spent; undelivered: the carrier's final word). Someone must reach that
person another way. The alert closes when a later message to the same phone arrives.
"""

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.models import Alert, Contact, Nurse, OutboundMessage, Patient, Unit, Visit

FINAL_FAILURES = ("failed", "undelivered")
# Failures older than this are history, not news.
LOOK_BACK = timedelta(hours=24)
TEMPLATE = "alert.delivery_failed"  # its own failures raise nothing: no alert loops
KEY = "delivery_failed:{}"


def scan(session: Session, clock: Clock) -> tuple[int, int, int]:
    """(failures examined, alerts raised, messages queued)."""
    close_reached(session, clock)
    failed = session.scalars(select(OutboundMessage).where(
        OutboundMessage.status.in_(FINAL_FAILURES),
        OutboundMessage.updated_at >= clock.now() - LOOK_BACK,
        OutboundMessage.contact_id.is_not(None) | OutboundMessage.nurse_id.is_not(None),
        OutboundMessage.template != TEMPLATE,
    ).order_by(OutboundMessage.id)).all()
    keys = [KEY.format(message.id) for message in failed]
    known = set(session.scalars(select(Alert.dedupe_key).where(Alert.dedupe_key.in_(keys)))
                ) if keys else set()
    raised = queued = 0
    for message in failed:
        if KEY.format(message.id) in known:
            continue
        result = _raise_for(session, clock, message)
        if result is not None:
            raised, queued = raised + 1, queued + result.messages_queued
    return len(failed), raised, queued


def close_reached(session: Session, clock: Clock) -> int:
    """Open alerts whose phone has since received a message: the person is reachable."""
    open_alerts = session.scalars(select(Alert).where(
        Alert.kind == "delivery_failed", Alert.status.in_(alerts.OPEN_STATUSES))).all()
    closed = 0
    for alert in open_alerts:
        failed = session.get(OutboundMessage, int(alert.dedupe_key.rsplit(":", 1)[1]))
        delivered_since = session.scalars(select(OutboundMessage.id).where(
            OutboundMessage.to_phone == failed.to_phone, OutboundMessage.id > failed.id,
            OutboundMessage.status == "delivered")).first()
        if delivered_since is not None:
            closed += alerts.resolve_where(session, clock, "a later message was delivered",
                                           Alert.id == alert.id)
    return closed


def _raise_for(session, clock, message: OutboundMessage):
    visit = session.get(Visit, message.visit_id) if message.visit_id else None
    error = message.last_error_code or message.status
    if message.contact_id is not None:
        contact = session.get(Contact, message.contact_id)
        patient = session.get(Patient, contact.patient_id)
        site_id, who = patient.site_id, f"the family ({contact.relationship})"
    else:
        nurse = session.get(Nurse, message.nurse_id)
        unit = session.get(Unit, nurse.unit_id) if nurse.unit_id else None
        patient = session.get(Patient, visit.patient_id) if visit else None
        site_id = nurse.site_id or (patient.site_id if patient else None)
        who = f"nurse #{nurse.id}" + (f" ({unit.call_sign})" if unit else "")
    if site_id is None:
        return None  # nobody's desk to tell
    study_code = patient.study_code if patient else "-"
    return alerts.raise_alert(
        session, clock, kind="delivery_failed", dedupe_key=KEY.format(message.id),
        site_id=site_id, patient_id=patient.id if patient else None,
        course_id=message.course_id, visit_id=message.visit_id,
        severity="high" if message.purpose == "safety" else "medium",
        summary=f"{study_code}: SMS ({message.template}) to {who} failed: error {error}",
    )
