"""A unit's day around a visit: its other visits as stops, its shifts, and true ETAs.

Every change to a unit's day (an assignment, an unassignment, a visit moved or
cancelled) ends by writing the start the unit can really make at each of its
assigned visits nearby, in the same transaction: two visits of one unit never
share a minute, and no ETA lies in the past or before a shift opens.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.dispatch import unit_routes
from opsbackend.domain.dispatch.unit_routes import Stop
from opsbackend.domain.registry.shifts import shift_intervals
from opsbackend.models import Home, Site, Unit, UnitShiftException, Visit

# Other visits this far either side of a visit's window can interact with it.
NEIGHBOURHOOD = timedelta(hours=14)
BUSY_VISIT_STATUSES = ("assigned", "en_route", "on_site")


def around(visit: Visit) -> tuple[datetime, datetime]:
    return visit.window_start - NEIGHBOURHOOD, visit.window_end + NEIGHBOURHOOD


def other_stops(session: Session, unit_ids, visit_id: int | None,
                span: tuple[datetime, datetime]) -> dict[int, list[Stop]]:
    """The units' busy visits in ``span`` (but ``visit_id``), as stops by unit id."""
    rows = session.execute(
        select(Visit, Home.lat, Home.lon)
        .join(Home, Home.patient_id == Visit.patient_id)
        .where(Visit.unit_id.in_(unit_ids), Visit.id != (visit_id or 0),
               Visit.status.in_(BUSY_VISIT_STATUSES),
               Visit.window_end >= span[0], Visit.window_start <= span[1])
    ).all()
    stops = defaultdict(list)
    for other, lat, lon in rows:
        if lat is not None and lon is not None:
            stops[other.unit_id].append(stop_of(other, (lat, lon)))
    return stops


def stop_of(visit: Visit, point: tuple[float, float]) -> Stop:
    fixed = (visit.arrived_at if visit.status == "on_site"
             else visit.eta if visit.status == "en_route" else None)
    return Stop(visit.id, point, visit.window_start, visit.window_end,
                timedelta(minutes=visit.service_minutes), planned=visit.eta,
                fixed_start=fixed)


def shift_exceptions(session: Session, unit_ids, span) -> dict[int, list[UnitShiftException]]:
    found = defaultdict(list)
    first, last = (span[0] - timedelta(days=1)).date(), (span[1] + timedelta(days=1)).date()
    for exception in session.scalars(
        select(UnitShiftException).where(UnitShiftException.unit_id.in_(unit_ids),
                                         UnitShiftException.on_date.between(first, last))
    ):
        found[exception.unit_id].append(exception)
    return found


def write_etas(session: Session, starts: dict[int, datetime], skip: int | None = None) -> int:
    """Each assigned visit's ETA from a computed day; visits under way keep theirs."""
    ids = [visit_id for visit_id in starts if visit_id != skip]
    changed = 0
    for visit in session.scalars(select(Visit).where(Visit.id.in_(ids))) if ids else ():
        if visit.status == "assigned" and visit.eta != starts[visit.id]:
            visit.eta = starts[visit.id]
            changed += 1
    session.flush()
    return changed


def retime(session: Session, now: datetime, unit_id: int, span, travel) -> int:
    """Recompute the ETAs of the unit's visits in ``span``; returns how many changed."""
    unit = session.get(Unit, unit_id)
    zone = session.scalar(select(Site.timezone).where(Site.id == unit.site_id))
    stops = other_stops(session, [unit_id], None, span)[unit_id]
    if not stops:
        return 0
    stretches = shift_intervals(unit, shift_exceptions(session, [unit_id], span)[unit_id],
                                zone, *span)
    day = unit_routes.retime(stops, (unit.base_lat, unit.base_lon), stretches, travel, now)
    return write_etas(session, day.starts)

