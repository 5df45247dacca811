"""Every SMS in and out, newest first: delivery status and error codes for the people who
have to reach a family or a nurse another way when a message did not arrive.

A message belongs to the site of its patient (the contact's, the visit's, or the
alert's), else of its alert or its nurse. Bodies are shown to dispatchers and admins
only; nurses see the traffic without them.
"""

from sqlalchemy import Integer, String, cast, func, literal, null, select, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session

from opsbackend.domain.labels import labels
from opsbackend.domain.records import Page
from opsbackend.domain.scope import Scope
from opsbackend.models import (
    Alert,
    Contact,
    InboundMessage,
    Nurse,
    OutboundMessage,
    Patient,
    Visit,
)

READS_BODIES = ("admin", "dispatcher", "system")
RECEIVED = "received"  # the status an inbound message is listed with
BODIES = ("body", "reply_body")


def list_messages(session: Session, scope: Scope, *, page: int, page_size: int,
                  patient_id=None, contact_id=None, nurse_id=None, status=None, since=None,
                  direction=None) -> Page:
    log = union_all(_outbound(), _inbound()).subquery()
    stmt = select(log).where(scope.where(log.c.site_id))
    for column, value in (("patient_id", patient_id), ("contact_id", contact_id),
                          ("nurse_id", nurse_id), ("status", status),
                          ("direction", direction)):
        if value is not None:
            stmt = stmt.where(log.c[column] == value)
    if since is not None:
        stmt = stmt.where(log.c.at >= since)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = [dict(row._mapping) for row in session.execute(
        stmt.order_by(log.c.at.desc(), log.c.direction, log.c.id.desc())
        .limit(page_size).offset((page - 1) * page_size))]
    found = labels(session, [(row["patient_id"], None) for row in rows])
    for row, label in zip(rows, found, strict=True):
        row.update(study_code=label.study_code, city=label.city,
                   postal_code=label.postal_code)
        if scope.role not in READS_BODIES:
            row.update(dict.fromkeys(BODIES))
    return Page(rows, total, page, page_size)


def _outbound():
    message = OutboundMessage
    contact, visit, alert = aliased(Contact), aliased(Visit), aliased(Alert)
    nurse, patient = aliased(Nurse), aliased(Patient)
    patient_id = func.coalesce(contact.patient_id, visit.patient_id, alert.patient_id)
    return (
        select(literal("outbound", String).label("direction"), message.id,
               message.created_at.label("at"), message.to_phone.label("phone"),
               message.contact_id, message.nurse_id, patient_id.label("patient_id"),
               func.coalesce(patient.site_id, alert.site_id, nurse.site_id).label("site_id"),
               message.visit_id, message.alert_id, message.template,
               cast(null(), String).label("handled_as"), message.purpose, message.status,
               message.suppressed_reason, message.last_error_code.label("error_code"),
               message.last_error.label("error"), message.attempts, message.sent_at,
               message.delivered_at, message.body, cast(null(), String).label("reply_body"))
        .outerjoin(contact, contact.id == message.contact_id)
        .outerjoin(visit, visit.id == message.visit_id)
        .outerjoin(alert, alert.id == message.alert_id)
        .outerjoin(nurse, nurse.id == message.nurse_id)
        .outerjoin(patient, patient.id == patient_id)
    )


def _inbound():
    message, contact, nurse = InboundMessage, aliased(Contact), aliased(Nurse)
    patient = aliased(Patient)
    nothing = cast(null(), Integer)
    never = cast(null(), OutboundMessage.sent_at.type)
    return (
        select(literal("inbound", String), message.id, message.received_at,
               message.from_phone, message.contact_id, message.nurse_id, contact.patient_id,
               func.coalesce(patient.site_id, nurse.site_id), nothing, nothing,
               cast(null(), String), message.handled_as, cast(null(), String),
               literal(RECEIVED, String), cast(null(), String), cast(null(), String),
               cast(null(), String), nothing, never, never, message.body, message.reply_body)
        .outerjoin(contact, contact.id == message.contact_id)
        .outerjoin(nurse, nurse.id == message.nurse_id)
        .outerjoin(patient, patient.id == contact.patient_id)
    )
