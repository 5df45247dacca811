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
from opsbackend.domain.registry.shifts import shift_at_or_after, shift_intervals
from opsbackend.models import Home, Patient, Site, Unit, UnitShiftException, Visit
from opsbackend.routing.problem import Job, Problem, Vehicle

# A reported position older than this says little about where the van is now.
FRESH_POSITION = timedelta(minutes=30)
UNDER_WAY = ("en_route", "on_site")
WINDOW_CLOSED = "its window closed before now"


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


def build(session: Session, now: datetime, site: Site, day: date, visits: list,
          travel, objective: str) -> DayProblem:
    origin, until = day_bounds(site, day)
    if now >= until:
        raise Invalid(f"{day.isoformat()} is over at {site.code}; plan today or a later day",
                      field="day")
    units = session.scalars(select(Unit).where(
        Unit.site_id == site.id, Unit.status.in_(WORKING_STATUSES)).order_by(Unit.id)).all()
    under_way = _under_way(session, [u.id for u in units]) if now >= origin else {}
    builder = _Builder(DayProblem(site, day, origin, max(origin, now), None, {}), now, travel,
                       _homes(session, [v.patient_id for v in [*visits, *under_way.values()]]))
    exceptions = _exceptions(session, [u.id for u in units], day)
    vehicles = []
    for unit in units:
        stretches = [s for s in shift_intervals(unit, exceptions.get(unit.id, []), site.timezone,
                                                origin, until) if s[1] > builder.day.planned_from]
        mine = builder.vehicles(unit, stretches, under_way.get(unit.id), first_id=len(vehicles))
        if not mine:
            builder.day.units_off_shift.append(unit)
        vehicles += mine
    jobs = [job for job in (builder.job(visit) for visit in visits) if job is not None]
    builder.day.problem = _problem(vehicles, jobs, builder.points, travel, objective)
    return builder.day


class _Builder:
    """Nodes, vehicles and jobs of one day problem, in seconds from its midnight."""

    def __init__(self, day: DayProblem, now: datetime, travel, homes):
        self.day, self.now, self.travel, self.homes = day, now, travel, homes
        self.points: list[tuple[float, float]] = []

    def node(self, point) -> int:
        self.points.append(point)
        return len(self.points) - 1

    def vehicles(self, unit: Unit, stretches, busy: Visit | None, first_id: int) -> list:
        """One vehicle a shift; on the shift that covers now, it sets off from where it is."""
        day, vehicles = self.day, []
        base = self.node((unit.base_lat, unit.base_lon))
        current = shift_at_or_after(stretches, self.now)
        for opens, closes in stretches:
            start, ready, starts_from, after = base, max(opens, day.planned_from), "base", None
            if (opens, closes) == current and opens <= self.now:
                point, ready, starts_from, after = _where_now(unit, busy, self.homes, self.now,
                                                              self.travel)
                ready = max(ready, day.planned_from)
                start = base if point is None else self.node(point)
            if ready >= closes:
                continue  # busy until the shift ends
            vehicle_id = first_id + len(vehicles)
            day.legs[vehicle_id] = Leg(unit.id, unit.call_sign, opens, closes, starts_from,
                                       after)
            vehicles.append(Vehicle(vehicle_id, start, base, day.seconds(ready),
                                    day.seconds(closes), frozenset(unit.skills)))
        return vehicles

    def job(self, visit) -> Job | None:
        """The visit as a job from now on; None, with the reason kept, when it cannot be."""
        point = self.homes.get(visit.patient_id)
        opens = max(visit.window_start, self.day.planned_from)
        if point is None:
            self.day.left_out[visit.id] = "the home has no coordinates"
        elif opens > visit.window_end:
            self.day.left_out[visit.id] = WINDOW_CLOSED
        else:
            return Job(visit.id, self.node(point), self.day.seconds(opens),
                       self.day.seconds(visit.window_end), visit.service_minutes * 60,
                       frozenset(visit.required_skills))
        return None


# What a day problem reads of a visit: rows, not ORM objects (a day may hold hundreds).
VISIT_COLUMNS = (Visit.id, Visit.patient_id, Visit.status, Visit.unit_id, Visit.eta,
                 Visit.window_start, Visit.window_end, Visit.service_minutes,
                 Visit.required_skills)


def visits_of_day(session: Session, site: Site, day: date, statuses) -> list:
    """The site's visits in these statuses whose window opens that (local) day, as rows
    with the attributes of ``VISIT_COLUMNS``."""
    origin, until = day_bounds(site, day)
    return list(session.execute(
        select(*VISIT_COLUMNS).join(Patient, Patient.id == Visit.patient_id)
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
