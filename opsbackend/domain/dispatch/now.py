"""What a dispatcher's board shows now: bag changes coming due, open alerts, units.

Each list is read for the caller's sites only (``Scope``, as the API reads them) in a
fixed number of queries, whatever the number of rows: no query per row.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, func, select
from sqlalchemy.orm import lazyload
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting.alerts import OPEN_STATUSES
from opsbackend.domain.errors import NotFound
from opsbackend.domain.labels import Labelled, label_by_visit, label_visits
from opsbackend.domain.records import get_or_404
from opsbackend.domain.scope import Scope
from opsbackend.models import Alert, Bag, CheckIn, Course, Home, Patient, Unit, Visit

HORIZON = timedelta(hours=24)
# A bag change due this soon with no unit on it, or a unit expected after the bag is due,
# is at risk: the dispatcher should act now.
AT_RISK_WITHIN = timedelta(hours=4)
HANGING_COURSE_STATUSES = ("active", "paused")
LIVE_VISIT_STATUSES = ("unassigned", "assigned", "en_route", "on_site")


# A bag change's visit as the board reads it: id, bag_id, status, eta, unit_id, window_start.
VisitRow = Row


@dataclass(frozen=True)
class DueBagChange:
    bag_id: int
    sequence: int
    due_at: datetime
    patient_id: int
    study_code: str
    city: str | None
    postal_code: str | None
    site_id: int
    visit: "VisitRow | None"
    call_sign: str | None
    state: str  # "overdue", "at_risk" or "on_track"


@dataclass(frozen=True)
class UnitNow:
    unit: Unit
    current: Labelled | None
    next: Labelled | None
    last_check_in_at: datetime | None


def bag_changes_due(session: Session, clock: Clock, scope: Scope,
                    horizon: timedelta = HORIZON) -> list[DueBagChange]:
    """Hanging bags due before now + ``horizon`` (overdue ones too), by deadline, each with
    its live bag-change visit and that visit's unit."""
    now = clock.now()
    rows = session.execute(
        select(Bag.id, Bag.sequence, Bag.due_at, Patient.id.label("patient_id"),
               Patient.site_id, Patient.study_code, Home.city, Home.postal_code)
        .join(Course, Course.id == Bag.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .outerjoin(Home, Home.patient_id == Patient.id)
        .where(Bag.changed_at.is_(None), Bag.due_at < now + horizon,
               Course.status.in_(HANGING_COURSE_STATUSES), scope.where(Patient.site_id))
        .order_by(Bag.due_at, Bag.id)
    ).all()
    visits = _bag_change_visits(session, [row.id for row in rows])
    unit_ids = {visit.unit_id for visit in visits.values() if visit.unit_id is not None}
    signs = dict(session.execute(select(Unit.id, Unit.call_sign)
                                 .where(Unit.id.in_(unit_ids))).all()) if unit_ids else {}
    return [
        DueBagChange(row.id, row.sequence, row.due_at, row.patient_id, row.study_code,
                     row.city, row.postal_code, row.site_id, visit,
                     signs.get(visit.unit_id) if visit else None,
                     _state(now, row.due_at, visit))
        for row in rows for visit in [visits.get(row.id)]
    ]


def _bag_change_visits(session, bag_ids: list[int]) -> dict[int, "VisitRow"]:
    """Plain rows, not ORM objects: a refresh reads hundreds of them."""
    if not bag_ids:
        return {}
    found = session.execute(
        select(Visit.id, Visit.bag_id, Visit.status, Visit.eta, Visit.unit_id,
               Visit.window_start)
        .where(Visit.bag_id.in_(bag_ids), Visit.kind == "bag_change",
               Visit.status.in_(LIVE_VISIT_STATUSES))
        .order_by(Visit.window_start)
    ).all()
    visits: dict[int, VisitRow] = {}
    for visit in found:
        visits.setdefault(visit.bag_id, visit)
    return visits


def _state(now: datetime, due_at: datetime, visit: VisitRow | None) -> str:
    if due_at <= now:
        return "overdue"
    if due_at - now <= AT_RISK_WITHIN and (visit is None or visit.unit_id is None):
        return "at_risk"
    if visit is not None and visit.eta is not None and visit.eta > due_at:
        return "at_risk"
    return "on_track"


def open_alerts(session: Session, scope: Scope) -> list[Labelled]:
    """Open and acknowledged alerts of the caller's sites, oldest first."""
    found = session.scalars(
        select(Alert).where(Alert.status.in_(OPEN_STATUSES), scope.where(Alert.site_id))
        .order_by(Alert.raised_at, Alert.id)
    ).all()
    return label_by_visit(session, found)


def failed_deliveries(session: Session, open_alerts: list) -> list[tuple]:
    """(alert, message) for each open ``delivery_failed`` alert among ``open_alerts``: the
    messages that failed and still need someone to reach that person another way
    (``delivery_failures`` decides which failures count)."""
    from opsbackend.models import OutboundMessage

    failed = {int(alert.dedupe_key.rsplit(":", 1)[1]): alert for alert in open_alerts
              if alert.kind == "delivery_failed"}
    if not failed:
        return []
    messages = session.scalars(select(OutboundMessage)
                               .where(OutboundMessage.id.in_(failed))).all()
    return [(failed[message.id], message) for message in messages]


def alert_in_scope(session: Session, scope: Scope, alert_id: int) -> Alert:
    """The alert, if it belongs to one of the caller's sites; else "not found"."""
    alert = get_or_404(session, Alert, alert_id)
    if not scope.covers(alert.site_id):
        raise NotFound(f"Alert {alert_id} does not exist")
    return alert


def units_now(session: Session, clock: Clock, scope: Scope) -> list[UnitNow]:
    """The caller's units with the visit each is on, its next one and its last check-in."""
    now = clock.now()
    # Not the shifts (selectin by default): the board does not show them.
    units = session.scalars(select(Unit).options(lazyload(Unit.shifts))
                            .where(scope.where(Unit.site_id))
                            .order_by(Unit.site_id, Unit.call_sign)).all()
    unit_ids = [unit.id for unit in units]
    if not unit_ids:
        return []
    live = session.scalars(
        select(Visit).where(Visit.unit_id.in_(unit_ids), Visit.status.in_(
            ("assigned", "en_route", "on_site")), Visit.window_end >= now - HORIZON)
        .order_by(Visit.window_start, Visit.id)
    ).all()
    current: dict[int, Visit] = {}
    upcoming: dict[int, Visit] = {}
    for visit in live:
        if visit.status in ("en_route", "on_site"):
            current.setdefault(visit.unit_id, visit)
        else:
            upcoming.setdefault(visit.unit_id, visit)
    check_ins = dict(session.execute(
        select(CheckIn.unit_id, func.max(CheckIn.occurred_at))
        .where(CheckIn.unit_id.in_(unit_ids)).group_by(CheckIn.unit_id)
    ).all())
    picked = list(current.values()) + list(upcoming.values())
    named = {item.id: item for item in label_visits(session, picked)}

    def labelled(visit: Visit | None) -> Labelled | None:
        return named[visit.id] if visit is not None else None

    return [UnitNow(unit, labelled(current.get(unit.id)), labelled(upcoming.get(unit.id)),
                    check_ins.get(unit.id))
            for unit in units]


def plan_in_scope(session: Session, scope: Scope, plan_id: int):
    """The day plan, if it is one of the caller's sites'; else "not found"."""
    from opsbackend.models import DayPlan

    plan = get_or_404(session, DayPlan, plan_id)
    if not scope.covers(plan.site_id):
        raise NotFound(f"Day plan {plan_id} does not exist")
    return plan


def patient_in_scope(session: Session, scope: Scope, patient_id: int) -> Patient:
    patient = get_or_404(session, Patient, patient_id)
    if not scope.covers(patient.site_id):
        raise NotFound(f"Patient {patient_id} does not exist")
    return patient
