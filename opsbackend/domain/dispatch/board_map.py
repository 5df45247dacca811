"""What the board's map shows: homes, units, each unit's route today, homes out of reach.

Read for the caller's sites (``Scope``) in a fixed number of queries; out of reach is the
coverage report's judgement (no unit base within its travel limit).
"""

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.dispatch.coverage import coverage
from opsbackend.domain.scope import Scope
from opsbackend.models import Course, Home, Patient, Unit, Visit
from opsbackend.models.course import OPEN_COURSE_STATUSES

ROUTE_STATUSES = ("assigned", "en_route", "on_site")
ROUTE_AHEAD = timedelta(hours=24)


def map_points(session: Session, clock: Clock, scope: Scope, travel) -> dict:
    """Plain values for the map script: homes, units and routes, each with a text label."""
    now = clock.now()
    homes = session.execute(
        select(Patient.id, Patient.study_code, Patient.site_id, Home.lat, Home.lon, Home.city)
        .join(Home, Home.patient_id == Patient.id)
        .where(Patient.status == "active", scope.where(Patient.site_id),
               Home.lat.is_not(None), Home.lon.is_not(None),
               Patient.id.in_(select(Course.patient_id)
                              .where(Course.status.in_(OPEN_COURSE_STATUSES))))
        .order_by(Patient.study_code)
    ).all()
    out_of_reach = {place.patient_id for region in coverage(session, now, travel, scope=scope)
                    for site in region.sites for place in site.patients_out_of_reach}
    units = session.scalars(select(Unit).where(scope.where(Unit.site_id))
                            .order_by(Unit.call_sign)).all()
    return {
        "homes": [{"patient_id": h.id, "label": h.study_code, "city": h.city, "lat": h.lat,
                   "lon": h.lon, "out_of_reach": h.id in out_of_reach} for h in homes],
        "units": [_unit(unit) for unit in units],
        "routes": _routes(session, now, units, {h.id: (h.lat, h.lon) for h in homes}),
    }


def _unit(unit: Unit) -> dict:
    reported = unit.last_lat is not None and unit.last_lon is not None
    return {"unit_id": unit.id, "label": unit.call_sign, "status": unit.status,
            "lat": unit.last_lat if reported else unit.base_lat,
            "lon": unit.last_lon if reported else unit.base_lon,
            "where": "last reported position" if reported else "base"}


def _routes(session, now, units, home_points) -> list[dict]:
    """Each unit's booked visits in order, from where the unit is: the next day's and any
    still not done from the day before (an overdue visit is still the unit's job)."""
    if not units:
        return []
    visits = session.execute(
        select(Visit.id, Visit.unit_id, Visit.patient_id)
        .where(Visit.unit_id.in_([u.id for u in units]), Visit.status.in_(ROUTE_STATUSES),
               Visit.window_end >= now - ROUTE_AHEAD, Visit.window_start < now + ROUTE_AHEAD)
        .order_by(Visit.unit_id, Visit.eta, Visit.window_start, Visit.id)
    ).all()
    stops: dict[int, list] = {}
    for visit in visits:
        if visit.patient_id in home_points:
            stops.setdefault(visit.unit_id, []).append(home_points[visit.patient_id])
    routes = []
    for unit in units:
        if unit.id in stops:
            start = _unit(unit)
            routes.append({"label": unit.call_sign,
                           "points": [[start["lat"], start["lon"]], *map(list, stops[unit.id])]})
    return routes


def plan_points(session: Session, plan) -> dict:
    """A day plan's routes for the map: each unit from its start through its stops' homes."""
    visit_ids = [stop["visit_id"] for route in plan.routes.get("routes", [])
                 for stop in route["stops"]]
    homes = dict((row.id, (row.lat, row.lon)) for row in session.execute(
        select(Visit.id, Home.lat, Home.lon).join(Home, Home.patient_id == Visit.patient_id)
        .where(Visit.id.in_(visit_ids)))) if visit_ids else {}
    units = {unit.id: unit for unit in session.scalars(select(Unit).where(
        Unit.id.in_([route["unit_id"] for route in plan.routes.get("routes", [])])))}
    routes, points = [], []
    for route in plan.routes.get("routes", []):
        stops = [homes[stop["visit_id"]] for stop in route["stops"]
                 if homes.get(stop["visit_id"], (None,))[0] is not None]
        start = _unit(units[route["unit_id"]])
        routes.append({"label": route["call_sign"],
                       "points": [[start["lat"], start["lon"]], *map(list, stops)]})
        points.append(start)
    homes_shown = [{"patient_id": None, "label": f"V{visit_id}", "city": None, "lat": lat,
                    "lon": lon, "out_of_reach": False}
                   for visit_id, (lat, lon) in homes.items() if lat is not None]
    return {"homes": homes_shown, "units": points, "routes": routes}
