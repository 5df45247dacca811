"""Nurse PINs: identity for a voice check-in from a phone that is not the nurse's own.

Telephony EVV verifies location by the caller ID of the patient's home landline;
a nurse calling from that landline proves who they are with their nurse number and
PIN. PINs are short, so they are stored as a slow salted hash (werkzeug's scrypt)
and guessing is capped: a nurse's PIN, and the number calling, lock after
``MAX_FAILURES`` wrong entries within ``LOCK_WINDOW`` (``pin_guard`` counts them; each
failure is an audit event too).
"""

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from werkzeug.security import check_password_hash, generate_password_hash

from opsbackend.clock import Clock
from opsbackend.domain.errors import Invalid
from opsbackend.domain.history.audit import record_event
from opsbackend.models import Nurse, PinGuard

PIN_FORMAT = re.compile(r"^[0-9]{4,8}$")  # ASCII digits: \d also takes "٤٤٤٤"
PIN_RULE = "a PIN is 4 to 8 digits"
MAX_FAILURES = 5
LOCK_WINDOW = timedelta(minutes=15)
FAILED = "voice_pin_failed"
LOCKED = "voice_pin_refused_locked"


def hash_pin(pin: str) -> str:
    if not PIN_FORMAT.fullmatch(pin):
        raise Invalid(PIN_RULE, field="pin")
    return generate_password_hash(pin)


def verify(session: Session, clock: Clock, nurse_id: int, pin: str, *, caller: str) -> Nurse | None:
    """The active nurse whose number and PIN these are, or None (and the failure recorded).

    The nurse's and the calling number's guards are read with a row lock first, so
    parallel guesses are checked and counted one at a time: ``MAX_FAILURES`` wrong PINs
    lock both for ``LOCK_WINDOW``; while locked every PIN is refused, the right one too,
    and guesses count for nothing, so they cannot stretch the lock."""
    now = clock.now()
    guards = _guards(session, now, [f"nurse:{nurse_id}", f"caller:{caller[:40]}"])
    if any(guard.locked_until is not None and guard.locked_until > now for guard in guards):
        _record(session, clock, LOCKED, nurse_id, caller, "locked")
        return None
    nurse = session.get(Nurse, nurse_id)
    if nurse is None or not nurse.active or nurse.pin_hash is None:
        _count_failure(session, clock, guards, nurse_id, caller, "no such nurse with a PIN")
        return None
    if not check_password_hash(nurse.pin_hash, pin):
        _count_failure(session, clock, guards, nurse.id, caller, "wrong PIN")
        return None
    return nurse


def is_locked(session: Session, clock: Clock, nurse_id: int) -> bool:
    locked_until = session.scalar(select(PinGuard.locked_until).where(
        PinGuard.subject == f"nurse:{nurse_id}"))
    return locked_until is not None and locked_until > clock.now()


def _guards(session: Session, now, subjects: list[str]) -> list[PinGuard]:
    """The guards of ``subjects``, created if new, locked for this transaction (in a fixed
    order, so two calls never wait on each other crosswise)."""
    for subject in subjects:
        if session.scalar(select(PinGuard.id).where(PinGuard.subject == subject)) is None:
            try:
                with session.begin_nested():
                    session.add(PinGuard(subject=subject, failures=0))
            except IntegrityError:
                pass  # a parallel guess made it: we lock it below
    guards = list(session.scalars(select(PinGuard).where(PinGuard.subject.in_(subjects))
                                  .order_by(PinGuard.subject).with_for_update(key_share=True)
                                  .execution_options(populate_existing=True)))
    for guard in guards:
        if guard.window_started_at is None or guard.window_started_at <= now - LOCK_WINDOW:
            guard.failures, guard.window_started_at, guard.locked_until = 0, now, None
    return guards


def _count_failure(session, clock, guards: list[PinGuard], nurse_id, caller: str, why: str):
    now = clock.now()
    for guard in guards:
        guard.failures += 1
        if guard.failures >= MAX_FAILURES:
            guard.locked_until = now + LOCK_WINDOW  # from the fifth failure, never later
    _record(session, clock, FAILED, nurse_id, caller, why)


def _record(session, clock, action: str, nurse_id, caller: str, why: str) -> None:
    record_event(session, clock, action=action, table_name="nurse", record_id=str(nurse_id),
                 details={"caller": caller[:40], "why": why})
