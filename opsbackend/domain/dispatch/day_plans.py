"""Day plans: routes for all of a site's units over a day's visits, from now on.

``plan_day`` turns the day into a routing problem (``day_problem``: shifts, where
each unit is now, nothing before now), solves it with the default engine and the
site's objective, and stores a preview. ``apply_plan`` books every planned visit in
one transaction, all or nothing, after checking nothing was booked under the plan
meanwhile. ``insert_visit`` (``plan_insertion``) fits an urgent visit into today's
applied plan.
"""

from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.dispatch import assignment, day_problem
from opsbackend.domain.dispatch.day_problem import DayProblem
from opsbackend.domain.errors import Conflict, Invalid
from opsbackend.domain.records import get_or_404
from opsbackend.domain.scope import Scope
from opsbackend.models import DayPlan, Site, Unit, Visit
from opsbackend.routing import engines
from opsbackend.routing.problem import NO_ROOM, Solution
from opsbackend.routing.timeline import leave_just_in_time

PLANNED_STATUSES = ("unassigned", "assigned")
BOOKED_STATUSES = ("assigned", "en_route", "on_site")


def plan_day(session: Session, clock: Clock, site_id: int, day: date, travel,
             seconds: float = 10, objective: str | None = None,
             engine: str = engines.DEFAULT_ENGINE) -> DayPlan:
    site = get_or_404(session, Site, site_id)
    objective = objective or site.routing_objective
    visits = day_problem.visits_of_day(session, site, day, PLANNED_STATUSES)
    if not visits:
        raise Invalid(f"there are no visits to plan at {site.code} on {day.isoformat()}",
                      field="day")
    day_plan = day_problem.build(session, clock.now(), site, day, visits, travel, objective)
    solution = engines.solve(day_plan.problem, seconds, engine=engine)
    unassigned = [{"visit_id": visit_id, "reason": reason} for visit_id, reason in
                  sorted((solution.unassigned | day_plan.left_out).items())]
    plan = DayPlan(site_id=site.id, day=day, seconds=seconds, routes={
        "objective": objective, "engine": engine,
        "planned_from": day_plan.planned_from.isoformat(),
        "routes": routes_json(day_plan, solution),
        "unassigned": unassigned,
        "units_off_shift": [{"unit_id": u.id, "call_sign": u.call_sign}
                            for u in day_plan.units_off_shift],
        "total_travel_minutes": round(sum(r.travel for r in solution.routes) / 60, 1),
    })
    session.add(plan)
    session.flush()
    return plan


def routes_json(day_plan: DayProblem, solution: Solution) -> list[dict]:
    """Each leg's route as the plan shows it: real times in the site's zone."""
    departures = leave_just_in_time(day_plan.problem, solution)
    at = day_plan.moment
    routes = []
    for route in solution.routes:
        leg = day_plan.legs[route.vehicle_id]
        departure = departures.get(route.vehicle_id)
        routes.append({
            "unit_id": leg.unit_id, "call_sign": leg.call_sign,
            "shift_opens": leg.opens.isoformat(), "shift_closes": leg.closes.isoformat(),
            "starts_from": leg.starts_from, "after_visit_id": leg.after_visit_id,
            "travel_minutes": round(route.travel / 60, 1),
            "depart_at": None if departure is None else at(departure).isoformat(),
            "stops": [{"visit_id": stop.job_id, "arrival": at(stop.arrival).isoformat(),
                       "start": at(stop.start).isoformat()} for stop in route.stops],
        })
    return routes


def apply_plan(session: Session, clock: Clock, plan_id: int, travel) -> DayPlan:
    plan = get_or_404(session, DayPlan, plan_id, for_update=True)
    if plan.status != "preview":
        raise Conflict(f"plan {plan_id} is {plan.status}", field="status")
    site = session.get(Site, plan.site_id)
    # The units' row locks serialise this with any assignment to them (assignment.assign).
    unit_ids = sorted({route["unit_id"] for route in plan.routes["routes"]})
    units = {unit.id: unit for unit in session.scalars(
        select(Unit).where(Unit.id.in_(unit_ids)).order_by(Unit.id).with_for_update(key_share=True))}
    planned = {stop["visit_id"]: (route["unit_id"], stop["start"])
               for route in plan.routes["routes"] for stop in route["stops"]}
    _refuse_if_stale(session, site, plan, planned)
    # First, so that the units' days it leaves are then booked at the plan's times.
    for left in plan.routes["unassigned"]:
        if not left["reason"].startswith(NO_ROOM):
            continue  # left out for its own reasons (no coordinates, skills): as it was
        visit = session.get(Visit, left["visit_id"], with_for_update={"key_share": True})
        # The plan found no room for it: still booked, it would clash with the planned
        # routes. Unassigned, it raises its alert like any visit nobody took.
        if visit.status == "assigned":
            assignment.unassign(session, clock, Scope.everything(), visit.id, travel)
    for visit_id, (unit_id, start) in planned.items():
        visit = get_or_404(session, Visit, visit_id, for_update=True)
        if visit.status not in assignment.ASSIGNABLE:
            # Raising rolls the request's transaction back whole: nothing is booked.
            raise Conflict(f"V{visit.id} is {visit.status} since the plan was made; plan "
                           "the day again", field="status")
        assignment.book(session, clock, visit, units[unit_id], datetime.fromisoformat(start))
    plan.status = "applied"
    plan.applied_at = clock.now()
    session.flush()
    return plan


def _refuse_if_stale(session, site, plan, planned) -> None:
    """A visit booked on one of the plan's units since the plan was made would clash."""
    known = set(planned) | {left["visit_id"] for left in plan.routes["unassigned"]}
    known |= {route["after_visit_id"] for route in plan.routes["routes"]}
    unit_ids = {route["unit_id"] for route in plan.routes["routes"]}
    for visit in day_problem.visits_of_day(session, site, plan.day, BOOKED_STATUSES):
        if visit.unit_id in unit_ids and visit.id not in known:
            raise Conflict(f"V{visit.id} was booked on unit {visit.unit_id} after the plan "
                           "was made; plan the day again", field="status")

