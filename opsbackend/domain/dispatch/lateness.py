"""No-call alerts and "running late" notices (EVV practice).

A visit whose window opened more than the site's ``late_unit_grace_minutes`` ago, with
a unit and no nurse check-in, raises ``late_unit`` to the unit's nurses and dispatch
and climbs the ladder like every alert; it closes when a nurse checks in or the visit no
longer waits for the unit. Once the unit reports where it is, or a dispatcher sets an
ETA, the family of a late visit is texted the new ETA.
"""

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alert_batches, alerts
from opsbackend.domain.dispatch import visits
from opsbackend.domain.dispatch.assignment import home_point
from opsbackend.domain.errors import Conflict, Forbidden, Invalid, NotFound
from opsbackend.domain.messaging import family_notices, templates
from opsbackend.domain.records import get_or_404
from opsbackend.domain.registry import units
from opsbackend.domain.scope import Scope
from opsbackend.models import Alert, Nurse, OutboundMessage, Patient, Site, Unit, Visit

WAITING_FOR_UNIT = ("assigned", "en_route")
# A family hears a new ETA only when it moved this much since the last one they heard.
RETELL_AFTER = timedelta(minutes=10)
ROUND_TO = 5  # minutes: "about 10:35", not 10:33:12


def scan_late_units(session: Session, clock: Clock) -> tuple[int, int, int]:
    """(visits examined, alerts raised, messages queued). It runs every minute over every
    visit under way: only visits that never had a late_unit alert are read, and the new
    ones are raised together (``alert_batches``), not a few queries per visit."""
    now = clock.now()
    alerts.resolve_where(
        session, clock, "a nurse checked in, or the visit no longer waits for the unit",
        Alert.kind == "late_unit",
        Alert.visit_id.in_(select(Visit.id).where(Visit.status.not_in(WAITING_FOR_UNIT))))
    alerted = exists().where(Alert.visit_id == Visit.id, Alert.kind == "late_unit")
    rows = session.execute(
        select(Visit, Site.id, Site.late_unit_grace_minutes, Site.timezone,
               Patient.study_code, Unit.call_sign)
        .join(Patient, Patient.id == Visit.patient_id).join(Site, Site.id == Patient.site_id)
        .join(Unit, Unit.id == Visit.unit_id)
        .where(Visit.status.in_(WAITING_FOR_UNIT), Visit.window_start <= now,
               Visit.window_end >= now - visits.MISSED_AFTER, ~alerted)
        .order_by(Visit.id)
    ).all()
    wanted = [
        dict(kind="late_unit", dedupe_key=f"late_unit:{visit.id}", site_id=site_id,
             patient_id=visit.patient_id, course_id=visit.course_id, bag_id=visit.bag_id,
             visit_id=visit.id,
             summary=f"{study_code}: no check-in at V{visit.id} ({call_sign}); its window "
                     f"opened {templates.local_time(visit.window_start, zone)}")
        for visit, site_id, grace, zone, study_code, call_sign in rows
        if visit.window_start + timedelta(minutes=grace) <= now
    ]
    raised = alert_batches.raise_alerts(session, clock, wanted)
    return len(rows), len(raised), sum(one.messages_queued for one in raised)


def set_eta(session: Session, clock: Clock, scope: Scope, visit_id: int,
            eta: datetime) -> Visit:
    """A dispatcher's ETA for a visit waiting for its unit; a late visit's family hears it."""
    visit = visits.visit_in_scope(session, scope, visit_id, for_update=True)
    if visit.status not in WAITING_FOR_UNIT:
        raise Conflict(f"V{visit.id} is {visit.status}; only a visit waiting for its unit "
                       "gets an ETA", field="status")
    if eta < clock.now() - timedelta(minutes=5):
        raise Invalid("the ETA is in the past", field="eta")
    _new_eta(session, clock, visit, eta)
    return visit


def unit_position(session: Session, clock: Clock, scope: Scope, unit_id: int, lat: float,
                  lon: float, travel, at: datetime | None = None) -> Unit:
    """The unit reports where it is. The late visit it is heading for gets an ETA from
    there (the drive from this position), and its family is told."""
    unit = get_or_404(session, Unit, unit_id)
    if not scope.covers(unit.site_id):
        raise NotFound(f"Unit {unit_id} does not exist")
    if scope.nurse_id is not None and not _on_crew(session, scope.nurse_id, unit_id):
        raise Forbidden(f"nurse {scope.nurse_id} is not on unit {unit_id}'s crew: a nurse "
                        "reports only the position of the unit they are on", field="unit_id")
    units.record_location(session, clock, unit_id, lat, lon, at)
    visit = _late_visit_of(session, unit_id)
    if visit is not None and unit.last_lat == lat and unit.last_lon == lon:
        seconds = float(travel.matrix([(lat, lon)], [home_point(session, visit)])[0][0])
        _new_eta(session, clock, visit,
                 max(unit.last_located_at, clock.now()) + timedelta(seconds=seconds))
    return unit


def _on_crew(session, nurse_id: int, unit_id: int) -> bool:
    nurse = session.get(Nurse, nurse_id)
    return nurse is not None and nurse.unit_id == unit_id


def _late_visit_of(session, unit_id: int) -> Visit | None:
    """The unit's earliest visit with an open late_unit alert."""
    return session.scalars(
        select(Visit).join(Alert, Alert.visit_id == Visit.id)
        .where(Visit.unit_id == unit_id, Visit.status.in_(WAITING_FOR_UNIT),
               Alert.kind == "late_unit", Alert.status.in_(alerts.OPEN_STATUSES))
        .order_by(Visit.window_start)
    ).first()


def _new_eta(session, clock, visit: Visit, eta: datetime) -> None:
    eta = _rounded(eta)
    visit.eta = eta
    session.flush()
    if not _is_late(session, visit):
        return
    told = _last_told(session, visit)
    if told is None or abs(eta - told) >= RETELL_AFTER:
        family_notices.running_late(session, clock, visit, eta)


def _is_late(session, visit: Visit) -> bool:
    return session.scalars(select(Alert.id).where(
        Alert.visit_id == visit.id, Alert.kind == "late_unit",
        Alert.status.in_(alerts.OPEN_STATUSES))).first() is not None


def _last_told(session, visit: Visit) -> datetime | None:
    """The ETA of the last running-late notice (its key carries it)."""
    key = session.scalars(
        select(OutboundMessage.dedupe_key)
        .where(OutboundMessage.visit_id == visit.id,
               OutboundMessage.template == "visit.running_late")
        .order_by(OutboundMessage.id.desc())
    ).first()
    return datetime.fromisoformat(key.split(":", 2)[2].rsplit(":", 1)[0]) if key else None


def _rounded(eta: datetime) -> datetime:
    """Up to the next ``ROUND_TO`` minutes."""
    eta = eta.replace(second=0, microsecond=0) + (timedelta(minutes=1) if eta.second
                                                  or eta.microsecond else timedelta())
    return eta + timedelta(minutes=-eta.minute % ROUND_TO)
