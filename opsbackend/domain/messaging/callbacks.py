"""A family asked to be called (CALL / LLAMAR): a task on the site's dispatch list.

One open request per contact: asking again while one is open changes nothing. A
dispatcher closes it with an outcome; a request still open after the site's
``callback_alert_minutes`` raises a ``callback_overdue`` alert, which climbs the usual
ladder until someone acknowledges it or the call is made.
"""

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.domain.errors import Conflict, NotFound
from opsbackend.domain.labels import Labelled, labels
from opsbackend.domain.messaging import templates
from opsbackend.domain.records import Page, get_or_404, paginate
from opsbackend.domain.scope import Scope
from opsbackend.models import Alert, CallbackRequest, Contact, InboundMessage, Patient, Site


def request_callback(session: Session, clock: Clock, contact: Contact, patient: Patient,
                     inbound: InboundMessage | None = None) -> CallbackRequest:
    """The contact's open request, or a new one."""
    found = session.scalars(select(CallbackRequest).where(
        CallbackRequest.contact_id == contact.id, CallbackRequest.status == "open")).first()
    if found is not None:
        return found
    request = CallbackRequest(site_id=patient.site_id, patient_id=patient.id,
                              contact_id=contact.id, phone=contact.phone,
                              requested_at=clock.now(),
                              inbound_message_id=inbound.id if inbound else None)
    session.add(request)
    session.flush()
    return request


def list_callbacks(session: Session, scope: Scope, *, page: int, page_size: int, status=None,
                   site_id=None, patient_id=None) -> Page:
    """Oldest first: the family waiting longest is called first."""
    stmt = (select(CallbackRequest).where(scope.where(CallbackRequest.site_id))
            .order_by(CallbackRequest.requested_at, CallbackRequest.id))
    for column, value in ((CallbackRequest.status, status), (CallbackRequest.site_id, site_id),
                          (CallbackRequest.patient_id, patient_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    found = paginate(session, stmt, page, page_size)
    return Page(_labelled(session, found.items), found.total, found.page, found.page_size)


def close_callback(session: Session, clock: Clock, scope: Scope, callback_id: int,
                   outcome: str, note: str | None, by: str) -> Labelled:
    request = get_or_404(session, CallbackRequest, callback_id, for_update=True)
    if not scope.covers(request.site_id):
        raise NotFound(f"Callback request {callback_id} does not exist")
    if request.status == "done":
        raise Conflict(f"callback request {callback_id} was closed at "
                       f"{request.done_at.isoformat()} by {request.done_by}", field="status")
    request.status, request.done_at, request.done_by = "done", clock.now(), by[:160]
    request.outcome, request.note = outcome, note
    session.flush()
    alerts.resolve_where(session, clock, f"the family was called back ({outcome})",
                         Alert.dedupe_key == _alert_key(request))
    return _labelled(session, [request])[0]


def scan_overdue(session: Session, clock: Clock):
    """Alert on requests open longer than their site allows; returns (examined, raised,
    messages queued)."""
    now = clock.now()
    rows = session.execute(
        select(CallbackRequest, Site.callback_alert_minutes, Site.timezone, Patient.study_code)
        .join(Site, Site.id == CallbackRequest.site_id)
        .join(Patient, Patient.id == CallbackRequest.patient_id)
        .where(CallbackRequest.status == "open")
    ).all()
    raised = queued = 0
    for request, minutes, zone, study_code in rows:
        if request.requested_at + timedelta(minutes=minutes) > now:
            continue
        result = alerts.raise_alert(
            session, clock, kind="callback_overdue", dedupe_key=_alert_key(request),
            site_id=request.site_id, patient_id=request.patient_id, severity="medium",
            condition_at=request.requested_at,
            summary=f"{study_code}: the family asked for a call at "
                    f"{templates.local_time(request.requested_at, zone)}, still open")
        if result is not None:
            raised, queued = raised + 1, queued + result.messages_queued
    return len(rows), raised, queued


def _labelled(session, requests) -> list[Labelled]:
    contacts = {c.id: c for c in session.scalars(select(Contact).where(
        Contact.id.in_({r.contact_id for r in requests})))} if requests else {}
    found = labels(session, [(r.patient_id, None) for r in requests])
    return [Labelled(r, label, contact_name=getattr(contacts.get(r.contact_id), "name", None),
                     relationship=getattr(contacts.get(r.contact_id), "relationship", None),
                     language=getattr(contacts.get(r.contact_id), "language", None))
            for r, label in zip(requests, found, strict=True)]


def _alert_key(request: CallbackRequest) -> str:
    return f"callback_overdue:{request.id}"
