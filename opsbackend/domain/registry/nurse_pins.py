"""Nurse PINs: identity for a voice check-in from a phone that is not the nurse's own.

Telephony EVV verifies location by the caller ID of the patient's home landline;
a nurse calling from that landline proves who they are with their nurse number and
PIN. PINs are short, so they are stored as a slow salted hash (werkzeug's scrypt)
and guessing is capped: a nurse's PIN locks after ``MAX_FAILURES`` wrong entries
within ``LOCK_WINDOW`` (each failure is an audit event, which is also the count).
"""

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import Session
from werkzeug.security import check_password_hash, generate_password_hash

from opsbackend.clock import Clock
from opsbackend.domain.errors import Invalid
from opsbackend.domain.history.audit import record_event
from opsbackend.models import AuditEvent, Nurse

PIN_FORMAT = re.compile(r"^[0-9]{4,8}$")  # ASCII digits: \d also takes "٤٤٤٤"
PIN_RULE = "a PIN is 4 to 8 digits"
MAX_FAILURES = 5
LOCK_WINDOW = timedelta(minutes=15)
FAILED = "voice_pin_failed"


def hash_pin(pin: str) -> str:
    if not PIN_FORMAT.fullmatch(pin):
        raise Invalid(PIN_RULE, field="pin")
    return generate_password_hash(pin)


def verify(session: Session, clock: Clock, nurse_id: int, pin: str, *, caller: str) -> Nurse | None:
    """The active nurse whose number and PIN these are, or None (and the failure recorded)."""
    nurse = session.get(Nurse, nurse_id)
    if nurse is None or not nurse.active or nurse.pin_hash is None:
        _record_failure(session, clock, nurse_id, caller, "no such nurse with a PIN")
        return None
    if is_locked(session, clock, nurse.id):
        _record_failure(session, clock, nurse.id, caller, "locked")
        return None
    if not check_password_hash(nurse.pin_hash, pin):
        _record_failure(session, clock, nurse.id, caller, "wrong PIN")
        return None
    return nurse


def is_locked(session: Session, clock: Clock, nurse_id: int) -> bool:
    failures = session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == FAILED,
            AuditEvent.table_name == "nurse",
            AuditEvent.record_id == str(nurse_id),
            AuditEvent.occurred_at >= clock.now() - LOCK_WINDOW,
        )
    )
    return failures >= MAX_FAILURES


def _record_failure(session, clock, nurse_id: int, caller: str, why: str) -> None:
    record_event(session, clock, action=FAILED, table_name="nurse", record_id=str(nurse_id),
                 details={"caller": caller[:40], "why": why})
