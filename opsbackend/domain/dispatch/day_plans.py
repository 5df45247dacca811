"""Day plans: routes for all of a site's units over a day's visits, previewed then applied.

The problem goes to the routing engine with hard time windows, service times,
each unit's shift as its working window, skills as allowed units, start and end
at the base. Applying assigns every visit through ``assignment.assign`` in one
transaction: if any assignment is refused, none is made.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.dispatch import assignment
from opsbackend.domain.errors import Conflict, Invalid
from opsbackend.domain.records import get_or_404
from opsbackend.domain.registry.shifts import shift_intervals
from opsbackend.domain.scope import Scope  # the plan was read in the caller's scope
from opsbackend.models import DayPlan, Home, Patient, Site, Unit, UnitShiftException, Visit
from opsbackend.routing import ortools_engine
from opsbackend.routing.problem import Job, Problem, Vehicle, leave_just_in_time

PLANNED_STATUSES = ("unassigned", "assigned")


def plan_day(session: Session, clock: Clock, site_id: int, day: date, travel,
             seconds: float = 10) -> DayPlan:
    site = get_or_404(session, Site, site_id)
    tz = ZoneInfo(site.timezone)
    origin = datetime.combine(day, time(0), tz)
    until = origin + timedelta(days=1)
    visits = _visits(session, site.id, origin, until)
    if not visits:
        raise Invalid(f"there are no visits to plan at {site.code} on {day.isoformat()}",
                      field="day")
    units = session.scalars(select(Unit).where(Unit.site_id == site.id,
                                               Unit.status.in_(assignment.WORKING_STATUSES))).all()
    vehicles, off_shift = [], []
    points = [(u.base_lat, u.base_lon) for u in units]
    exceptions = _exceptions(session, [u.id for u in units], day)
    for n, unit in enumerate(units):
        stretches = shift_intervals(unit, exceptions.get(unit.id, []), site.timezone, origin,
                                    until)
        if not stretches:
            off_shift.append(unit.id)
            continue
        opens, closes = max(stretches, key=lambda s: s[1] - s[0])
        vehicles.append(Vehicle(unit.id, n, n, _at(opens, origin), _at(closes, origin),
                                frozenset(unit.skills)))
    jobs, unlocated = [], {}
    for visit, lat, lon in visits:
        if lat is None or lon is None:
            unlocated[visit.id] = "the home has no coordinates"
            continue
        points.append((lat, lon))
        jobs.append(Job(visit.id, len(points) - 1, max(_at(visit.window_start, origin), 0),
                        _at(visit.window_end, origin), visit.service_minutes * 60,
                        frozenset(visit.required_skills)))
    horizon = max([_at(until, origin)] + [v.available_until for v in vehicles]) + 6 * 3600
    # OSRM marks "no road" as infinite: far beyond the horizon is the same answer to the solver.
    unreachable = 10 * horizon
    matrix = [[int(min(s, unreachable)) for s in row] for row in travel.matrix(points, points)] \
        if points else []
    problem = Problem(vehicles, jobs, matrix, horizon=horizon)
    solution = ortools_engine.solve(problem, seconds)
    departures = leave_just_in_time(problem, solution)
    calls = {u.id: u.call_sign for u in units}
    routes = [
        {"unit_id": route.vehicle_id, "call_sign": calls[route.vehicle_id],
         "travel_minutes": round(route.travel / 60, 1),
         "depart_at": _clock_time(origin, departures.get(route.vehicle_id)),
         "stops": [{"visit_id": stop.job_id,
                    "arrival": _clock_time(origin, stop.arrival),
                    "start": _clock_time(origin, stop.start)}
                   for stop in route.stops]}
        for route in solution.routes
    ]
    unassigned = [{"visit_id": visit_id, "reason": reason}
                  for visit_id, reason in sorted((solution.unassigned | unlocated).items())]
    plan = DayPlan(site_id=site.id, day=day, seconds=seconds, routes={
        "routes": routes, "unassigned": unassigned,
        "units_off_shift": [{"unit_id": u, "call_sign": calls[u]} for u in off_shift],
        "total_travel_minutes": round(sum(r.travel for r in solution.routes) / 60, 1),
    })
    session.add(plan)
    session.flush()
    return plan


def _clock_time(origin: datetime, seconds: int | None) -> str | None:
    """A solver time (seconds from the day's origin) as an ISO time."""
    return None if seconds is None else (origin + timedelta(seconds=seconds)).isoformat()


def apply_plan(session: Session, clock: Clock, plan_id: int, travel) -> DayPlan:
    plan = get_or_404(session, DayPlan, plan_id, for_update=True)
    if plan.status != "preview":
        raise Conflict(f"plan {plan_id} is {plan.status}", field="status")
    for route in plan.routes["routes"]:
        for stop in route["stops"]:
            visit = session.get(Visit, stop["visit_id"])
            if visit.unit_id == route["unit_id"] and visit.status == "assigned":
                continue
            if visit.status == "assigned":
                assignment.unassign(session, clock, Scope.everything(), visit.id, travel)
            # Any refusal raises: the request's transaction is rolled back whole.
            assignment.assign(session, clock, Scope.everything(), visit.id, route["unit_id"],
                              travel)
    plan.status = "applied"
    plan.applied_at = clock.now()
    session.flush()
    return plan


def _visits(session, site_id, origin, until):
    return session.execute(
        select(Visit, Home.lat, Home.lon)
        .join(Patient, Patient.id == Visit.patient_id)
        .outerjoin(Home, Home.patient_id == Visit.patient_id)
        .where(Patient.site_id == site_id, Visit.status.in_(PLANNED_STATUSES),
               Visit.window_start >= origin, Visit.window_start < until)
        .order_by(Visit.window_start)
    ).all()


def _exceptions(session, unit_ids, day):
    found = {}
    for exception in session.scalars(
        select(UnitShiftException).where(UnitShiftException.unit_id.in_(unit_ids),
                                         UnitShiftException.on_date.between(
                                             day - timedelta(days=1), day))
    ):
        found.setdefault(exception.unit_id, []).append(exception)
    return found


def _at(moment: datetime, origin: datetime) -> int:
    return int((moment - origin).total_seconds())
