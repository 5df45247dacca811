"""An urgent visit into today's applied plan, moving as few other visits as possible.

The day is read as it is now, not as the plan once said: every unit's booked
visits in the order of their ETAs, each unit setting off from where it is
(``day_problem``). ``routing.insertion`` finds the place that moves the fewest
other visits (none if it can: the new visit slips in and later stops keep their
order; else one visit is reordered within its unit, else one moves to another
unit), then the earliest start for the urgent visit. The new visit, any moved
one and every visit whose time changes are booked again (the family hears of a
changed time), and the plan's routes are brought up to date.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.dispatch import assignment, day_problem
from opsbackend.domain.dispatch.day_plans import routes_json
from opsbackend.domain.errors import Conflict, Invalid, NotFound
from opsbackend.domain.records import get_or_404
from opsbackend.domain.scope import Scope
from opsbackend.models import DayPlan, Patient, Site, Unit, Visit
from opsbackend.routing import insertion
from opsbackend.routing.problem import Problem, Solution, impossible_jobs
from opsbackend.routing.timeline import timed_route


@dataclass
class Inserted:
    plan: DayPlan
    visit: Visit
    unit: Unit
    moved: list[dict] = field(default_factory=list)  # {visit_id, from_unit_id, to_unit_id}
    retimed: list[dict] = field(default_factory=list)  # {visit_id, eta}


def insert_visit(session: Session, clock: Clock, scope: Scope, plan_id: int, visit_id: int,
                 travel) -> Inserted:
    plan = get_or_404(session, DayPlan, plan_id, for_update=True)
    if not scope.covers(plan.site_id):
        raise NotFound(f"plan {plan_id} does not exist")
    if plan.status != "applied":
        raise Conflict(f"plan {plan_id} is {plan.status}: apply it before inserting visits",
                       field="status")
    visit = _urgent_visit(session, scope, plan, visit_id)
    site = session.get(Site, plan.site_id)
    # Every unit of the site is locked, as an assignment locks its unit: nobody books
    # under this insertion.
    units = {unit.id: unit for unit in session.scalars(
        select(Unit).where(Unit.site_id == site.id).order_by(Unit.id)
        .with_for_update(key_share=True))}
    booked = day_problem.visits_of_day(session, site, plan.day, ("assigned",))
    day = day_problem.build(session, clock.now(), site, plan.day, [*booked, visit], travel,
                            plan.routes.get("objective", "distance"))
    orders = _orders_now(day, booked)
    found = insertion.insert(day.problem, orders, visit.id)
    if found is None:
        raise Conflict(f"V{visit.id} cannot be fitted: {_why(day, visit.id)}",
                       field="visit_id")
    result = Inserted(plan, visit, units[day.legs[found.vehicle_id].unit_id])
    routes = [timed_route(day.problem, day.problem.vehicles[vehicle_id], order).route
              for vehicle_id, order in found.orders.items()]
    others = {v.id: v for v in session.scalars(select(Visit).where(
        Visit.id.in_([s.job_id for r in routes for s in r.stops if s.job_id != visit.id]))
        .with_for_update(key_share=True))} | {visit.id: visit}
    for route in routes:
        unit = units[day.legs[route.vehicle_id].unit_id]
        for stop in route.stops:
            _book(session, clock, result, unit, others[stop.job_id], day.moment(stop.start))
    _update_plan(plan, day, routes, found, result)
    session.flush()
    return result


def _urgent_visit(session, scope, plan, visit_id) -> Visit:
    visit = session.get(Visit, visit_id, with_for_update={"key_share": True})
    site_id = session.get(Patient, visit.patient_id).site_id if visit else None
    if visit is None or not scope.covers(site_id):
        raise Invalid(f"visit {visit_id} does not exist", field="visit_id")
    if site_id != plan.site_id:
        raise Invalid(f"V{visit.id} is not at this plan's site", field="visit_id")
    if visit.status != "unassigned":
        raise Conflict(f"V{visit.id} is {visit.status}; only an unassigned visit can be "
                       "inserted", field="visit_id")
    return visit


def _orders_now(day, booked: list[Visit]) -> dict[int, list[int]]:
    """Each leg's booked visits by ETA, as far as they still fit from now on.

    A visit that no longer fits (its unit runs late) is left where it is, out of the
    insertion's way: its own alerts handle it.
    """
    legs_of = {}
    for vehicle_id, leg in day.legs.items():
        legs_of.setdefault(leg.unit_id, []).append((leg.opens, leg.closes, vehicle_id))
    planned = {job.id for job in day.problem.jobs}
    orders = {}
    for visit in sorted(booked, key=lambda v: (v.eta or v.window_start, v.id)):
        when = visit.eta or visit.window_start
        vehicle_id = next((v for opens, closes, v in legs_of.get(visit.unit_id, [])
                           if opens <= when < closes), None)
        if vehicle_id is not None and visit.id in planned:
            orders.setdefault(vehicle_id, []).append(visit.id)
    return {vehicle_id: [stop.job_id for stop in timed_route(
                day.problem, day.problem.vehicles[vehicle_id], order).route.stops]
            for vehicle_id, order in orders.items()}


def _why(day, visit_id: int) -> str:
    if visit_id in day.left_out:
        return day.left_out[visit_id]
    [job] = [job for job in day.problem.jobs if job.id == visit_id]
    alone = Problem(day.problem.vehicles, [job], day.problem.travel)
    return impossible_jobs(alone).get(
        visit_id, "no unit has room for it, even with one other visit moved; plan the day "
                  "again")


def _book(session, clock, result: Inserted, unit: Unit, visit: Visit, eta: datetime) -> None:
    if visit is not result.visit:
        if visit.unit_id == unit.id and visit.eta == eta:
            return
        if visit.unit_id != unit.id:
            result.moved.append({"visit_id": visit.id, "from_unit_id": visit.unit_id,
                                 "to_unit_id": unit.id})
        else:
            result.retimed.append({"visit_id": visit.id, "eta": eta})
    assignment.book(session, clock, visit, unit, eta)


def _update_plan(plan: DayPlan, day, routes, found, result: Inserted) -> None:
    """The changed legs' routes replace theirs in the plan; the insertion is recorded."""
    changed = {(r["unit_id"], r["shift_opens"]): r
               for r in routes_json(day, Solution(routes, {}))}
    document = dict(plan.routes)
    document["routes"] = [changed.pop((r["unit_id"], r["shift_opens"]), r)
                          for r in document["routes"]] + list(changed.values())
    document["unassigned"] = [u for u in document["unassigned"]
                              if u["visit_id"] != result.visit.id]
    document["insertions"] = [*document.get("insertions", []), {
        "visit_id": result.visit.id, "unit_id": result.unit.id,
        "start": day.moment(found.start).isoformat(),
        "moved": result.moved,
        "retimed": [{"visit_id": r["visit_id"], "eta": r["eta"].isoformat()}
                    for r in result.retimed],
    }]
    plan.routes = document  # a new dict: the JSON column sees the change
