"""Alerts: raised once per cause, messaged up the site's ladder until someone acts.

Raising is idempotent: each alert has a unique ``dedupe_key`` and the insert
runs in a savepoint, so two schedulers raising the same alert at once leave one
row. Messages go through the outbox with a key per (alert, step, phone), so
they are queued once too.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import conditions, escalation
from opsbackend.domain.errors import Conflict, Invalid, NotFound
from opsbackend.domain.interop.webhook_events import alert_event
from opsbackend.domain.labels import label_by_visit, label_page
from opsbackend.domain.messaging import outbox, templates
from opsbackend.domain.records import Page, get_or_404, paginate
from opsbackend.domain.scope import Scope
from opsbackend.models import Alert, Bag, Nurse, Patient, PumpReport, Site, Visit
from opsbackend.models.alert import RESOLUTION_REASONS

OPEN_STATUSES = ("open", "acknowledged")
EVERYONE = Scope.everything()


@dataclass(frozen=True)
class Raised:
    alert: Alert
    messages_queued: int


def raise_alert(
    session: Session, clock: Clock, *, kind: str, dedupe_key: str, site_id: int,
    summary: str, patient_id=None, course_id=None, bag_id=None, visit_id=None,
    pump_report_id=None, severity: str = "high", notify: bool = True,
    condition_at: datetime | None = None,
) -> Raised | None:
    """Raise the alert and message its first rung; None when this cause already has one.

    ``notify=False``: an alert for the alert list only (no SMS ladder), for what needs an
    admin at a desk rather than a phone at night (a webhook receiver that keeps failing)."""
    wanted = conditions.raisable(session, [{"kind": kind, "dedupe_key": dedupe_key}])
    if not wanted:
        return None
    dedupe_key = wanted[0]["dedupe_key"]  # cause#n when a danger came back
    now = clock.now()
    alert = Alert(
        kind=kind, dedupe_key=dedupe_key, site_id=site_id, patient_id=patient_id,
        course_id=course_id, bag_id=bag_id, visit_id=visit_id, pump_report_id=pump_report_id,
        summary=summary[:300], raised_at=now, severity=severity, escalation_step=0,
        condition_at=condition_at,
    )
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return None  # another scheduler raised it a moment ago
    alert_event(session, "alert.raised", alert)
    queued = _notify_rung(session, clock, alert, 0) if notify else 0
    return Raised(alert, queued)


def escalate_due(session: Session, clock: Clock) -> tuple[int, int]:
    """Move alerts past their rung's time up one rung; returns (alerts, messages).

    An acknowledged alert's ladder resumes when its pause ends if its danger still
    stands (the alert is open again); if the danger passed, the alert is resolved.
    Rows are claimed with ``FOR UPDATE SKIP LOCKED``: a second scheduler skips them.
    """
    now = clock.now()
    stmt = (
        select(Alert)
        .where(Alert.status.in_(OPEN_STATUSES), Alert.next_escalation_at <= now)
        .order_by(Alert.next_escalation_at)
        .with_for_update(skip_locked=True, key_share=True)
    )
    escalated = messages = 0
    for alert in session.scalars(stmt).all():
        if alert.status == "acknowledged":
            if conditions.readable(alert.kind) and \
                    conditions.danger(session, clock, alert) is None:
                _close(alert, now, "system", "the danger passed while acknowledged")
                alert_event(session, "alert.resolved", alert)
                continue
            alert.status = "open"  # nobody fixed it in the pause: the ladder goes on
        messages += _notify_rung(session, clock, alert, alert.escalation_step + 1)
        escalated += 1
    return escalated, messages


def may_act_on_alert(scope: Scope, alert: Alert) -> bool:
    """Only staff of the alert's site acknowledge or resolve it."""
    return scope.covers(alert.site_id)


def acknowledge(session: Session, clock: Clock, alert_id: int, by: str,
                scope: Scope = EVERYONE) -> Alert:
    """Someone is on it: the ladder pauses for the site's acknowledgement pause (per
    alert kind), then resumes if the danger still stands. Acknowledging an acknowledged
    alert changes nothing."""
    alert = _alert_for(session, alert_id, scope)
    if alert.status == "resolved":
        raise Conflict(f"alert {alert_id} is already resolved", field="status")
    if alert.status == "open":
        alert.status = "acknowledged"
        alert.acknowledged_at = clock.now()
        alert.acknowledged_by = by[:120]
        if alert.next_escalation_at is not None:  # an alert on a ladder (not list-only)
            alert.next_escalation_at = clock.now() + escalation.acknowledgement_pause(
                session, alert.site_id, alert.kind)
        session.flush()
        alert_event(session, "alert.acknowledged", alert)
    return alert


def resolve(session: Session, clock: Clock, alert_id: int, by: str, reason: str,
            note: str | None = None, duplicate_of: int | None = None,
            scope: Scope = EVERYONE) -> Alert:
    """Resolved by hand with a reason from ``RESOLUTION_REASONS``; refused while the
    alert's danger stands (a bag still hanging past due on a running course)."""
    alert = _alert_for(session, alert_id, scope)
    if alert.status == "resolved":
        raise Conflict(f"alert {alert_id} is already resolved", field="status")
    if reason not in RESOLUTION_REASONS:
        raise Invalid(f"say why with one of {', '.join(RESOLUTION_REASONS)}", field="reason")
    if reason == "other" and not (note or "").strip():
        raise Invalid("say what was done when the reason is other", field="note")
    if reason == "duplicate":
        original = session.get(Alert, duplicate_of) if duplicate_of else None
        if original is None or original.id == alert.id or not scope.covers(original.site_id):
            raise Invalid("name the alert this one duplicates", field="duplicate_of")
    elif duplicate_of is not None:
        raise Invalid("only a duplicate names duplicate_of", field="duplicate_of")
    standing = conditions.danger(session, clock, alert)
    if standing is not None:
        raise Conflict(f"A{alert.id} cannot be resolved while {standing}", field="reason",
                       reason="condition_holds", condition=standing)
    _close(alert, clock.now(), by, note or reason)
    alert.resolution_reason = reason
    alert.duplicate_of_id = duplicate_of if reason == "duplicate" else None
    session.flush()
    alert_event(session, "alert.resolved", alert)
    return alert


def _alert_for(session: Session, alert_id: int, scope: Scope) -> Alert:
    alert = get_or_404(session, Alert, alert_id, for_update=True)
    if not may_act_on_alert(scope, alert):
        raise NotFound(f"there is no alert {alert_id}", field="alert_id")
    return alert


def resolve_where(session: Session, clock: Clock, resolution: str, *conditions) -> int:
    """The cause went away (bag changed, pump running, unit assigned): close its alerts."""
    found = session.scalars(
        select(Alert).where(Alert.status.in_(OPEN_STATUSES), *conditions)
    ).all()
    return _resolve_found(session, clock, resolution, found)


# Built once, as every pump report saying "running" asks it (see ``records._by_id``).
_OPEN_OF_COURSE_AND_KIND = select(Alert).where(
    Alert.status.in_(OPEN_STATUSES), Alert.course_id == bindparam("course_id"),
    Alert.kind == bindparam("kind"))


def resolve_course_alerts(session: Session, clock: Clock, resolution: str, course_id: int,
                          kind: str) -> int:
    """``resolve_where`` for one course's alerts of one kind."""
    found = session.scalars(_OPEN_OF_COURSE_AND_KIND,
                            {"course_id": course_id, "kind": kind}).all()
    return _resolve_found(session, clock, resolution, found)


def _resolve_found(session: Session, clock: Clock, resolution: str, found) -> int:
    for alert in found:
        _close(alert, clock.now(), "system", resolution)
        alert_event(session, "alert.resolved", alert)
    session.flush()
    return len(found)


def open_alerts_messaged_to(session: Session, phone: str, scope: Scope = EVERYONE
                            ) -> list[Alert]:
    """Open alerts of the scope's sites whose SMS reached this phone, newest first (for
    an ``ACK`` reply)."""
    from opsbackend.models import OutboundMessage

    return list(session.scalars(
        select(Alert)
        .join(OutboundMessage, OutboundMessage.alert_id == Alert.id)
        .where(OutboundMessage.to_phone == phone, Alert.status == "open",
               scope.where(Alert.site_id))
        .order_by(Alert.raised_at.desc())
        .distinct()
    ))


def list_alerts(
    session: Session, scope: Scope, *, page: int, page_size: int, status=None, kind=None,
    site_id=None, patient_id=None,
) -> Page:
    stmt = (select(Alert).where(scope.where(Alert.site_id))
            .order_by(Alert.raised_at.desc(), Alert.id.desc()))
    if status is not None:
        stmt = stmt.where(Alert.status == status)
    if kind is not None:
        stmt = stmt.where(Alert.kind == kind)
    if site_id is not None:
        stmt = stmt.where(Alert.site_id == site_id)
    if patient_id is not None:
        stmt = stmt.where(Alert.patient_id == patient_id)
    return label_page(session, paginate(session, stmt, page, page_size), label_by_visit)


def recipients(session: Session, alert: Alert, targets,
               nurses_by_unit: dict | None = None) -> list[tuple[str, str, int | None]]:
    """(phone, language, nurse id) for each target of a rung; nobody twice.
    ``nurses_by_unit`` (unit id -> active nurses) spares a query per alert in a batch."""
    site = session.get(Site, alert.site_id)
    found: dict[str, tuple[str, str, int | None]] = {}
    for target in targets:
        if target == "nurse":
            for nurse in _assigned_nurses(session, alert, nurses_by_unit):
                found.setdefault(nurse.phone, (nurse.phone, nurse.language, nurse.id))
        elif target == "dispatcher" and site.dispatch_phone:
            found.setdefault(site.dispatch_phone, (site.dispatch_phone, "en", None))
        elif target == "on_call" and site.on_call_phone:
            found.setdefault(site.on_call_phone, (site.on_call_phone, "en", None))
    return list(found.values())


def _notify_rung(session, clock, alert: Alert, step: int) -> int:
    ladder = escalation.ladder_for(session, alert.site_id, alert.kind)
    queued = outbox.queue_messages(session, clock, rung_messages(session, alert, ladder, step))
    advance(alert, ladder, step, clock.now())
    session.flush()
    return len(queued)


def rung_messages(session: Session, alert: Alert, ladder, step: int,
                  nurses_by_unit: dict | None = None) -> list[dict]:
    """The SMS of one rung (``outbox.queue_messages``' keywords), one per recipient."""
    rung = escalation.rung_at(ladder, step)
    return [
        dict(to_phone=phone, template=f"alert.{alert.kind}", language=language,
             body=templates.render(f"alert.{alert.kind}", language,
                                   **alert_values(session, alert, language)),
             purpose="safety", priority=outbox.alert_priority(alert.severity),
             nurse_id=nurse_id, alert_id=alert.id,
             course_id=alert.course_id, visit_id=alert.visit_id,
             dedupe_key=f"alert:{alert.id}:step:{step}:{phone}")
        for phone, language, nurse_id in recipients(session, alert, rung.targets,
                                                    nurses_by_unit)
    ]


def advance(alert: Alert, ladder, step: int, now: datetime) -> None:
    """The alert is at ``step``; the next rung is due after its own wait."""
    alert.escalation_step = step
    following = escalation.rung_at(ladder, step + 1)
    alert.next_escalation_at = now + timedelta(minutes=following.after_minutes)


def alert_values(session: Session, alert: Alert, language: str = "en") -> dict:
    """The values the alert's SMS texts show, in the site's local time and the reader's
    language."""
    site = session.get(Site, alert.site_id)
    patient = session.get(Patient, alert.patient_id) if alert.patient_id else None
    bag = session.get(Bag, alert.bag_id) if alert.bag_id else None
    visit = session.get(Visit, alert.visit_id) if alert.visit_id else None
    report = session.get(PumpReport, alert.pump_report_id) if alert.pump_report_id else None
    return {
        "alert_ref": f"A{alert.id}",
        "study_code": patient.study_code if patient else "-",
        "sequence": bag.sequence if bag else "-",
        "due": templates.local_time(bag.due_at, site.timezone, language) if bag else "-",
        "visit_code": f"V{visit.id}" if visit else "-",
        "start": (templates.local_time(visit.window_start, site.timezone, language)
                  if visit else "-"),
        "alarm": (templates.pump_state(report.status, report.alarm_type, language)
                  if report else "-"),
        "since": _since(alert, report, site.timezone, language),
        "warning": templates.bag_warnings(bag.warnings, language) if bag else "-",
        "staff_phone": (alert.dedupe_key.split("#")[0].split(":")[2]
                        if alert.kind == "staff_opted_out" else "-"),
    }


def _since(alert: Alert, report, timezone: str, language: str) -> str:
    """When the danger began: the alarm's report, else the alert's condition time."""
    began = report.reported_at if report else alert.condition_at
    return templates.local_time(began, timezone, language) if began else "-"


def _assigned_nurses(session: Session, alert: Alert, by_unit: dict | None) -> list[Nurse]:
    visit = session.get(Visit, alert.visit_id) if alert.visit_id else None
    if visit is None or visit.unit_id is None:
        return []
    if by_unit is not None:
        return by_unit.get(visit.unit_id, [])
    return list(session.scalars(
        select(Nurse).where(Nurse.unit_id == visit.unit_id, Nurse.active.is_(True))
    ))


def _close(alert: Alert, at: datetime, by: str, resolution: str) -> None:
    alert.status = "resolved"
    alert.resolved_at = at
    alert.resolved_by = by[:120]
    alert.resolution = resolution[:300]
    alert.next_escalation_at = None
