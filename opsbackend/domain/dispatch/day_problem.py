"""A site's day as a routing problem, from now on.

Times are seconds from the day's local midnight (``origin``). Each vehicle is one
unit on one of its shifts that day (a unit working 07:00-12:00 and 19:00-23:00
is two vehicles, so every stop waits for the shift that covers it, across gaps and
nights). Nothing is planned before ``planned_from``: the later of midnight and
now. A unit on the shift that covers now sets off from where it is: the home of
a visit it is on or driving to (once that visit is done; such visits stay as they
are), else its last reported position if recent, else its base. Visits whose
window has closed by now are left out with that reason.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.dispatch.assignment import WORKING_STATUSES
from opsbackend.domain.errors import Invalid
from opsbackend.domain.registry.shifts import shift_intervals
from opsbackend.models import Home, Patient, Site, Unit, UnitShiftException, Visit
from opsbackend.routing.problem import Job, Problem, Vehicle

# A reported position older than this says little about where the van is now.
FRESH_POSITION = timedelta(minutes=30)
UNDER_WAY = ("en_route", "on_site")


@dataclass(frozen=True)
class Leg:
    """One vehicle of the problem: a unit on one shift, and where it sets off from."""

    unit_id: int
    call_sign: str
    opens: datetime
    closes: datetime
    starts_from: str  # "base", "position" (last reported) or "visit" (one under way)
    after_visit_id: int | None = None


@dataclass
class DayProblem:
    site: Site
    day: date
    origin: datetime
    planned_from: datetime
    problem: Problem
    legs: dict[int, Leg]  # vehicle id -> leg
    left_out: dict[int, str] = field(default_factory=dict)  # visit id -> why
    units_off_shift: list[Unit] = field(default_factory=list)

    def moment(self, seconds: int | None) -> datetime | None:
        return None if seconds is None else self.origin + timedelta(seconds=seconds)

    def seconds(self, moment: datetime) -> int:
        return int((moment - self.origin).total_seconds())


def day_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    origin = datetime.combine(day, time(0), ZoneInfo(site.timezone))
    return origin, origin + timedelta(days=1)


def build(session: Session, now: datetime, site: Site, day: date, visits: list[Visit],
          travel, objective: str) -> DayProblem:
    origin, until = day_bounds(site, day)
    if now >= until:
        raise Invalid(f"{day.isoformat()} is over at {site.code}; plan today or a later day",
                      field="day")
    planned_from = max(origin, now)
    units = session.scalars(select(Unit).where(
        Unit.site_id == site.id, Unit.status.in_(WORKING_STATUSES)).order_by(Unit.id)).all()
    under_way = _under_way(session, [u.id for u in units]) if now >= origin else {}
    homes = _homes(session, [v.patient_id for v in [*visits, *under_way.values()]])
    exceptions = _exceptions(session, [u.id for u in units], day)
    points, legs, vehicles, off_shift = [], {}, [], []
    day_problem = DayProblem(site, day, origin, planned_from, None, legs)

    def node(point) -> int:
        points.append(point)
        return len(points) - 1

    for unit in units:
        stretches = [s for s in shift_intervals(unit, exceptions.get(unit.id, []), site.timezone,
                                                origin, until) if s[1] > planned_from]
        if not stretches:
            off_shift.append(unit)
        base = node((unit.base_lat, unit.base_lon))
        for opens, closes in stretches:
            start, ready, leg = base, max(opens, planned_from), Leg(
                unit.id, unit.call_sign, opens, closes, "base")
            if opens <= now < closes:  # the shift it is on now: it sets off from where it is
                point, ready, starts_from, after = _where_now(unit, under_way.get(unit.id),
                                                              homes, now, travel)
                ready = max(ready, planned_from)
                if point is not None:
                    start = node(point)
                    leg = Leg(unit.id, unit.call_sign, opens, closes, starts_from, after)
            legs[len(vehicles)] = leg
            vehicles.append(Vehicle(len(vehicles), start, base, day_problem.seconds(ready),
                                    day_problem.seconds(closes), frozenset(unit.skills)))
    jobs = []
    for visit in visits:
        point = homes.get(visit.patient_id)
        opens = max(visit.window_start, planned_from)
        if point is None:
            day_problem.left_out[visit.id] = "the home has no coordinates"
        elif opens > visit.window_end:
            day_problem.left_out[visit.id] = "its window closed before now"
        else:
            jobs.append(Job(visit.id, node(point), day_problem.seconds(opens),
                            day_problem.seconds(visit.window_end), visit.service_minutes * 60,
                            frozenset(visit.required_skills)))
    day_problem.problem = _problem(vehicles, jobs, points, travel, objective)
    day_problem.units_off_shift = off_shift
    return day_problem


def visits_of_day(session: Session, site: Site, day: date, statuses) -> list[Visit]:
    origin, until = day_bounds(site, day)
    return list(session.scalars(
        select(Visit).join(Patient, Patient.id == Visit.patient_id)
        .where(Patient.site_id == site.id, Visit.status.in_(statuses),
               Visit.window_start >= origin, Visit.window_start < until)
        .order_by(Visit.window_start, Visit.id)))


def _where_now(unit, busy: Visit | None, homes, now, travel):
    """Where (None: its base) and when a unit on shift now can set off for its next stop,
    how it is known, and the visit under way it finishes first."""
    if busy is not None and busy.patient_id in homes:
        home = homes[busy.patient_id]
        if busy.status == "on_site":
            arrived = busy.arrived_at or now
        elif busy.eta is not None:
            arrived = max(busy.eta, now)
        else:
            here = _position(unit, now) or (unit.base_lat, unit.base_lon)
            arrived = now + timedelta(seconds=float(travel.matrix([here], [home])[0][0]))
        free = max(now, arrived + timedelta(minutes=busy.service_minutes))
        return home, free, "visit", busy.id
    position = _position(unit, now)
    if position is not None:
        return position, now, "position", None
    return None, now, "base", None


def _position(unit, now):
    if unit.last_lat is None or unit.last_located_at is None:
        return None
    if now - unit.last_located_at > FRESH_POSITION:
        return None
    return (unit.last_lat, unit.last_lon)


def _problem(vehicles, jobs, points, travel, objective) -> Problem:
    horizon = max([v.available_until for v in vehicles] + [j.window_end for j in jobs] + [0])
    horizon += 6 * 3600
    # OSRM marks "no road" as infinite: far beyond the horizon is the same answer to a solver.
    unreachable = 10 * horizon
    matrix = np.minimum(np.asarray(travel.matrix(points, points), dtype=float),
                        unreachable).astype(int).tolist() if points else []
    return Problem(vehicles, jobs, matrix, horizon=horizon, objective=objective)


def _homes(session, patient_ids) -> dict[int, tuple[float, float]]:
    if not patient_ids:
        return {}
    rows = session.execute(select(Home.patient_id, Home.lat, Home.lon)
                           .where(Home.patient_id.in_(set(patient_ids))))
    return {row.patient_id: (row.lat, row.lon) for row in rows
            if row.lat is not None and row.lon is not None}


def _under_way(session, unit_ids) -> dict[int, Visit]:
    """Each unit's visit under way now (the one it will be free of last)."""
    busy = {}
    for visit in session.scalars(select(Visit).where(Visit.unit_id.in_(unit_ids),
                                                     Visit.status.in_(UNDER_WAY))
                                 .order_by(Visit.window_start)):
        busy[visit.unit_id] = visit
    return busy


def _exceptions(session, unit_ids, day):
    found = {}
    for exception in session.scalars(
        select(UnitShiftException).where(UnitShiftException.unit_id.in_(unit_ids),
                                         UnitShiftException.on_date.between(
                                             day - timedelta(days=1), day + timedelta(days=1)))
    ):
        found.setdefault(exception.unit_id, []).append(exception)
    return found
