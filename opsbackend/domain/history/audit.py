"""Reading the audit trail. Row changes are recorded by ``opsbackend.audit_listener``."""

from sqlalchemy import select
from sqlmodel import Session

from opsbackend import audit_listener
from opsbackend.domain import site_of
from opsbackend.domain.records import Page, paginate
from opsbackend.domain.scope import Scope
from opsbackend.models import AuditEvent


def list_events(
    session: Session, scope: Scope, *, page: int, page_size: int, table_name=None,
    record_id=None, actor=None, action=None, request_id=None, since=None, until=None,
) -> Page:
    """The events about records of the caller's sites (every event for a global caller)."""
    stmt = select(AuditEvent).where(site_of.audited_in(scope)).order_by(AuditEvent.id)
    if table_name is not None:
        stmt = stmt.where(AuditEvent.table_name == table_name)
    if record_id is not None:
        stmt = stmt.where(AuditEvent.record_id == str(record_id))
    if actor is not None:
        stmt = stmt.where(AuditEvent.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    if request_id is not None:
        stmt = stmt.where(AuditEvent.request_id == request_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < until)
    return paginate(session, stmt, page, page_size)


def act_as(session: Session, actor: str) -> None:
    """Who the session's changes are by from now on (the audit events' actor): a phone
    webhook learns it only once it knows who called (``nurse:12 via sms``)."""
    session.info["actor"] = actor[:120]


def record_event(
    session: Session, clock, *, action: str, table_name: str, record_id: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """An event that is not a row change (a refused caller, a login refused, ...)."""
    audit_listener.write_pending(session)  # the row changes before it come first
    event = AuditEvent(
        occurred_at=clock.now(),
        actor=session.info.get("actor", "system"),
        request_id=session.info.get("request_id"),
        action=action,
        table_name=table_name,
        record_id=str(record_id),
        changes=details,
    )
    session.add(event)
    session.flush()
    return event
