"""What a dispatcher's board shows now: bag changes coming due, open alerts, units.

Each list is read for the caller's sites only (``Scope``, as the API reads them) in a
fixed number of queries, whatever the number of rows: no query per row.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting.alerts import OPEN_STATUSES
from opsbackend.domain.errors import NotFound
from opsbackend.domain.labels import Labelled, label_by_visit, label_visits, labels
from opsbackend.domain.records import get_or_404
from opsbackend.domain.scope import Scope
from opsbackend.models import Alert, Bag, CheckIn, Course, Patient, Site, Unit, Visit

HORIZON = timedelta(hours=24)
# A bag change due this soon with no unit on it, or a unit expected after the bag is due,
# is at risk: the dispatcher should act now.
AT_RISK_WITHIN = timedelta(hours=4)
HANGING_COURSE_STATUSES = ("active", "paused")
LIVE_VISIT_STATUSES = ("unassigned", "assigned", "en_route", "on_site")


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
    visit: Visit | None
    call_sign: str | None
    state: str  # "overdue", "at_risk" or "on_track"


@dataclass(frozen=True)
class UnitNow:
    unit: Unit
    current: Labelled | None
    next: Labelled | None
    last_check_in_at: datetime | None


def site_zones(session: Session, scope: Scope) -> dict[int, str]:
    """Each of the caller's sites' time zone, by site id."""
    return dict(session.execute(select(Site.id, Site.timezone).where(scope.where(Site.id))).all())


def bag_changes_due(session: Session, clock: Clock, scope: Scope,
                    horizon: timedelta = HORIZON) -> list[DueBagChange]:
    """Hanging bags due before now + ``horizon`` (overdue ones too), by deadline, each with
    its live bag-change visit and that visit's unit."""
    now = clock.now()
    rows = session.execute(
        select(Bag.id, Bag.sequence, Bag.due_at, Patient.id.label("patient_id"),
               Patient.site_id)
        .join(Course, Course.id == Bag.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .where(Bag.changed_at.is_(None), Bag.due_at < now + horizon,
               Course.status.in_(HANGING_COURSE_STATUSES), scope.where(Patient.site_id))
        .order_by(Bag.due_at, Bag.id)
    ).all()
    visits = _bag_change_visits(session, [row.id for row in rows])
    found = labels(session, [(row.patient_id, getattr(visits.get(row.id), "unit_id", None))
                             for row in rows])
    return [
        DueBagChange(row.id, row.sequence, row.due_at, row.patient_id, label.study_code,
                     label.city, label.postal_code, row.site_id, visits.get(row.id),
                     label.call_sign, _state(now, row.due_at, visits.get(row.id)))
        for row, label in zip(rows, found, strict=True)
    ]


def _bag_change_visits(session, bag_ids: list[int]) -> dict[int, Visit]:
    if not bag_ids:
        return {}
    found = session.scalars(
        select(Visit).where(Visit.bag_id.in_(bag_ids), Visit.kind == "bag_change",
                            Visit.status.in_(LIVE_VISIT_STATUSES))
        .order_by(Visit.window_start)
    ).all()
    visits: dict[int, Visit] = {}
    for visit in found:
        visits.setdefault(visit.bag_id, visit)
    return visits


def _state(now: datetime, due_at: datetime, visit: Visit | None) -> str:
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


def alert_in_scope(session: Session, scope: Scope, alert_id: int) -> Alert:
    """The alert, if it belongs to one of the caller's sites; else "not found"."""
    alert = get_or_404(session, Alert, alert_id)
    if not scope.covers(alert.site_id):
        raise NotFound(f"Alert {alert_id} does not exist")
    return alert


def units_now(session: Session, clock: Clock, scope: Scope) -> list[UnitNow]:
    """The caller's units with the visit each is on, its next one and its last check-in."""
    now = clock.now()
    units = session.scalars(select(Unit).where(scope.where(Unit.site_id))
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
