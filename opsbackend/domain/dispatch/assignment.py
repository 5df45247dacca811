"""Which unit can do a visit, and assigning one safely.

Suggestions and assignment judge a unit the same way (``_judge``): skills, status,
shifts, and room among its other visits counting travel between them, never before
now. An assignment locks the unit's row first, so two dispatchers assigning the same
unit at once are judged one after the other: a double booking cannot happen. Assigning
and unassigning rewrite the ETAs of the unit's other visits nearby in the same
transaction (``unit_day``), so two visits of a unit never share a minute.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.domain.dispatch import unit_day, visits
from opsbackend.domain.dispatch.unit_routes import Placement, PointMatrix, Refusal, Stop, place
from opsbackend.domain.errors import Conflict, Invalid
from opsbackend.domain.interop.webhook_events import visit_event
from opsbackend.domain.messaging import family_notices
from opsbackend.domain.records import get_or_404
from opsbackend.domain.registry.shifts import shift_intervals
from opsbackend.domain.scope import Scope
from opsbackend.models import Alert, Home, Patient, Site, Unit, UnitShift, Visit

WORKING_STATUSES = ("available", "en_route", "on_site")
ASSIGNABLE = ("unassigned", "assigned")


@dataclass(frozen=True)
class Judgement:
    unit: Unit
    placement: Placement | None = None
    refusal: Refusal | None = None


@dataclass(frozen=True)
class UnitView:
    """What judging needs of a unit, read without ORM objects (a site may have 1,000)."""

    id: int
    call_sign: str
    status: str
    skills: list
    base_lat: float
    base_lon: float
    shifts: list
    # The weekly pattern as a key: units that share it share their shift stretches.
    pattern: tuple = ()


def suggestions(session: Session, clock: Clock, scope: Scope, visit_id: int,
                travel) -> list[Judgement]:
    """Every unit of the visit's site: the able ones by arrival time, then the others."""
    visit = visits.visit_in_scope(session, scope, visit_id)
    site = _site_of(session, visit)
    judged = _judge(session, clock.now(), visit, _unit_views(session, site.id), site, travel)
    able = sorted((j for j in judged if j.placement), key=lambda j: (j.placement.start,
                                                                     j.placement.travel_seconds))
    return able + [j for j in judged if j.refusal]


def assign(session: Session, clock: Clock, scope: Scope, visit_id: int, unit_id: int,
           travel) -> Visit:
    visit = visits.visit_in_scope(session, scope, visit_id, for_update=True)
    if visit.status not in ASSIGNABLE:
        raise Conflict(f"V{visit.id} is {visit.status}; it cannot be assigned", field="status")
    # The unit's row lock serialises every assignment to this unit.
    unit = get_or_404(session, Unit, unit_id, for_update=True)
    site = _site_of(session, visit)
    if unit.site_id != site.id:
        raise Invalid(f"{unit.call_sign} is not a unit of V{visit.id}'s site", field="unit_id")
    previous_unit = visit.unit_id
    [judgement] = _judge(session, clock.now(), visit, [unit], site, travel)
    if judgement.refusal:
        raise Conflict(f"{unit.call_sign} cannot take V{visit.id}: "
                       f"{judgement.refusal.reason} ({judgement.refusal.detail})",
                       field="unit_id")
    book(session, clock, visit, unit, judgement.placement.start)
    unit_day.write_etas(session, judgement.placement.starts, skip=visit.id)
    if previous_unit not in (None, unit.id):  # a reassignment: the old unit's day closes up
        unit_day.retime(session, clock.now(), previous_unit, unit_day.around(visit), travel)
    return visit


def book(session: Session, clock: Clock, visit: Visit, unit: Unit, eta: datetime) -> Visit:
    """Record a judged assignment (or a new time on the same unit): unit, status, ETA.

    The caller has locked the visit and judged the unit able. A time that moves tells
    the family; the visit's "unassigned" alert is resolved.
    """
    moved = visit.eta is not None and visit.eta != eta
    was_assigned = visit.status == "assigned"
    newly_booked = visit.unit_id != unit.id or not was_assigned
    if newly_booked:
        visit.unit_id = unit.id
        visit.status = "assigned"
        visit.assigned_at = clock.now()
    visit.eta = eta
    session.flush()
    if newly_booked:
        visit_event(session, "visit.assigned", visit)
    if moved:  # a reassignment that moves the time: the family is told
        family_notices.visit_changed(session, clock, visit)
        visit_event(session, "visit.eta_changed", visit)
    if not was_assigned:  # an assigned visit's alert was resolved when it was assigned
        alerts.resolve_where(session, clock, f"assigned to {unit.call_sign}",
                             Alert.kind == "unassigned_visit", Alert.visit_id == visit.id)
    return visit


def on_the_way(session: Session, clock: Clock, scope: Scope, visit_id: int,
               eta: datetime | None, travel) -> Visit:
    """The unit leaves for the home: the visit is en route and the family hears the ETA."""
    visit = visits.visit_in_scope(session, scope, visit_id, for_update=True)
    if visit.status not in ("assigned", "en_route"):
        raise Conflict(f"V{visit.id} is {visit.status}; only an assigned visit goes en route",
                       field="status")
    if eta is None:
        eta = clock.now() + timedelta(seconds=drive_from_unit(session, visit, travel))
    if eta < clock.now() - timedelta(minutes=5):
        raise Invalid("the ETA is in the past", field="eta")
    eta_changed = visit.eta != eta
    visit.status = "en_route"
    visit.eta = eta
    session.flush()
    if eta_changed:
        visit_event(session, "visit.eta_changed", visit)
    family_notices.on_the_way(session, clock, visit, eta)
    return visit


def drive_from_unit(session: Session, visit: Visit, travel) -> float:
    """Seconds from where the visit's unit was last seen (else its base) to the home."""
    unit = session.get(Unit, visit.unit_id)
    here = ((unit.last_lat, unit.last_lon) if unit.last_lat is not None
            else (unit.base_lat, unit.base_lon))
    return float(travel.matrix([here], [home_point(session, visit)])[0][0])


def unassign(session: Session, clock: Clock, scope: Scope, visit_id: int, travel) -> Visit:
    visit = visits.visit_in_scope(session, scope, visit_id, for_update=True)
    if visit.status != "assigned":
        raise Conflict(f"V{visit.id} is {visit.status}; only an assigned visit can be "
                       "unassigned", field="status")
    visits.set_status(visit, "unassigned", clock.now())
    release(session, clock, visit, travel)
    return visit


def release(session: Session, clock: Clock, visit: Visit, travel, span=None) -> None:
    """Take the visit off its unit's day; the unit's other visits close up the gap."""
    unit_id = visit.unit_id
    visit.unit_id = None
    visit.assigned_at = None
    visit.eta = None
    session.flush()
    if unit_id is not None:
        unit_day.retime(session, clock.now(), unit_id, span or unit_day.around(visit), travel)


def refit(session: Session, clock: Clock, visit: Visit, travel, span) -> bool:
    """The assigned visit changed (window, service time, skills): it stays with its unit,
    at a new ETA, when the unit can still do it; else it goes back on the board. The
    unit's day over ``span`` is retimed either way. True when the unit kept it."""
    unit = get_or_404(session, Unit, visit.unit_id, for_update=True)
    [judgement] = _judge(session, clock.now(), visit, [unit], _site_of(session, visit), travel)
    if judgement.refusal:
        visits.set_status(visit, "unassigned", clock.now())
        release(session, clock, visit, travel, span)
        return False
    visit.eta = judgement.placement.start
    session.flush()
    unit_day.write_etas(session, judgement.placement.starts, skip=visit.id)
    unit_day.retime(session, clock.now(), unit.id, span, travel)
    return True


def home_point(session: Session, visit: Visit) -> tuple[float, float]:
    home = session.scalars(select(Home).where(Home.patient_id == visit.patient_id)).first()
    if home is None or home.lat is None or home.lon is None:
        status = home.geocode_status if home else "missing"
        raise Invalid(f"the patient's home has no coordinates (geocode: {status}); fix the "
                      "address or give lat/lon", field="home")
    return (home.lat, home.lon)


def _judge(session, now: datetime, visit: Visit, units: list, site: Site,
           travel) -> list[Judgement]:
    candidate = Stop(visit.id, home_point(session, visit), visit.window_start, visit.window_end,
                     timedelta(minutes=visit.service_minutes))
    around = unit_day.around(visit)
    # A site's units as a subquery: an IN list of 1,000 ids costs more than the query.
    unit_ids = (select(Unit.id).where(Unit.site_id == site.id) if len(units) > 20
                else [u.id for u in units])
    others = unit_day.other_stops(session, unit_ids, visit.id, around)
    exceptions = unit_day.shift_exceptions(session, unit_ids, around)
    stops = [stop.point for unit_stops in others.values() for stop in unit_stops]
    travel = PointMatrix(travel, [candidate.point, *stops],
                         [(u.base_lat, u.base_lon) for u in units])
    stretches_of = {}  # units with the same pattern (and no exceptions) share their shifts
    needed = set(visit.required_skills)
    judged = []
    for unit in units:
        missing = sorted(needed - set(unit.skills))
        if missing:
            judged.append(Judgement(unit, refusal=Refusal("skill", f"lacks {', '.join(missing)}")))
            continue
        if unit.status not in WORKING_STATUSES:
            judged.append(Judgement(unit, refusal=Refusal("status", f"unit is {unit.status}")))
            continue
        pattern = (getattr(unit, "pattern", None) or _pattern(unit.shifts),
                   unit.id if exceptions.get(unit.id) else None)
        if pattern not in stretches_of:
            stretches_of[pattern] = shift_intervals(unit, exceptions[unit.id], site.timezone,
                                                    *around)
        result = place(candidate, others[unit.id], (unit.base_lat, unit.base_lon),
                       stretches_of[pattern], travel, now)
        judged.append(Judgement(unit, placement=result) if isinstance(result, Placement)
                      else Judgement(unit, refusal=result))
    return judged


def _unit_views(session, site_id: int) -> list[UnitView]:
    # SQL core rows: the ORM's row handling would cost more than the query for 7,000 shifts.
    connection = session.connection()
    shifts = defaultdict(list)
    for row in connection.execute(
        select(UnitShift.unit_id, UnitShift.weekday, UnitShift.starts_at, UnitShift.ends_at)
        .join(Unit, Unit.id == UnitShift.unit_id).where(Unit.site_id == site_id)
        .order_by(UnitShift.unit_id, UnitShift.weekday, UnitShift.starts_at)
    ).all():
        shifts[row.unit_id].append(row)
    return [
        UnitView(row.id, row.call_sign, row.status, row.skills, row.base_lat, row.base_lon,
                 shifts[row.id], _pattern(shifts[row.id]))
        for row in connection.execute(
            select(Unit.id, Unit.call_sign, Unit.status, Unit.skills, Unit.base_lat,
                   Unit.base_lon).where(Unit.site_id == site_id).order_by(Unit.id)
        ).all()
    ]


def _pattern(shifts) -> tuple:
    return tuple((s.weekday, s.starts_at, s.ends_at) for s in shifts)


def _site_of(session, visit: Visit) -> Site:
    return session.scalars(select(Site).join(Patient, Patient.site_id == Site.id)
                           .where(Patient.id == visit.patient_id)).one()


