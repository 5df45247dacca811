"""One rule for the times of a route, whichever engine chose its order.

Engines decide which vehicle visits which jobs in which order; the times come
from here: the vehicle leaves its start node when it becomes available, drives,
waits for a window to open, serves, drives on, and must be back at its end node
by the end of its availability. A job whose window is already shut when the
vehicle gets there (or one the vehicle lacks skills or room for) is taken out
of the route and reported, so what an engine returns is always feasible.
"""

from dataclasses import dataclass, replace

from opsbackend.routing.problem import Job, Problem, Route, Solution, Stop, Vehicle, not_fitting


@dataclass
class Timed:
    route: Route
    dropped: list[int]


def timed_route(problem: Problem, vehicle: Vehicle, order: list[int],
                jobs: dict[int, Job] | None = None) -> Timed:
    """The route of ``vehicle`` through ``order`` (job ids), earliest times, misfits dropped."""
    jobs = jobs or {job.id: job for job in problem.jobs}
    kept, dropped = [], []
    load = 0
    for job_id in order:
        job = jobs[job_id]
        room = vehicle.capacity is None or load + job.demand <= vehicle.capacity
        if job.skills <= vehicle.skills and room and _fits(problem, vehicle, kept + [job]):
            kept.append(job)
            load += job.demand
        else:
            dropped.append(job_id)
    while kept and not _fits(problem, vehicle, kept, back_home=True):
        dropped.append(kept.pop().id)  # the shift ends first: the last stops give way
    return Timed(_schedule(problem, vehicle, kept), dropped)


def solution_from_orders(problem: Problem, orders: dict[int, list[int]],
                         unassigned: dict[int, str], objective: int = 0) -> Solution:
    """A Solution from each vehicle's job order; jobs in no order are left out."""
    jobs = {job.id: job for job in problem.jobs}
    routes, served, left_out = [], set(), dict(unassigned)
    for vehicle in problem.vehicles:
        timed = timed_route(problem, vehicle, orders.get(vehicle.id, []), jobs)
        routes.append(timed.route)
        served |= {stop.job_id for stop in timed.route.stops}
    for job in problem.jobs:
        if job.id not in served and job.id not in left_out:
            left_out[job.id] = not_fitting(problem)
    return Solution(routes, left_out, objective=objective)


def earliest_starts(problem: Problem, vehicle: Vehicle, jobs: list[Job]) -> list[int] | None:
    """When each job of the sequence starts at the earliest; None when a window is missed."""
    starts, free_at, here = [], vehicle.available_from, vehicle.start_node
    for job in jobs:
        start = max(job.window_start, free_at + problem.travel[here][job.node])
        if start > job.window_end:
            return None
        starts.append(start)
        free_at, here = start + job.service, job.node
    return starts


def latest_starts(problem: Problem, vehicle: Vehicle, jobs: list[Job]) -> list[int]:
    """The latest each job of a feasible sequence may start with every later one still on time."""
    latest, until, there = [0] * len(jobs), vehicle.available_until, vehicle.end_node
    for n in range(len(jobs) - 1, -1, -1):
        job = jobs[n]
        latest[n] = min(job.window_end, until - problem.travel[job.node][there] - job.service)
        until, there = latest[n], job.node
    return latest


def leave_just_in_time(problem: Problem, solution: Solution) -> dict[int, int]:
    """When each used route should leave its start: late enough not to wait at the first door.

    Routes are timed from the moment a vehicle is available, so a unit would wait at the
    first home. Leaving later changes no stop's start; later stops keep their times (and
    any wait there), since starting a visit early in its window is what the plan wants.
    The first stop's arrival is moved to match. Returns {vehicle id: departure}.
    """
    vehicles = {vehicle.id: vehicle for vehicle in problem.vehicles}
    jobs = {job.id: job for job in problem.jobs}
    departures = {}
    for route in solution.routes:
        if not route.stops:
            continue
        vehicle, first = vehicles[route.vehicle_id], route.stops[0]
        drive = problem.travel[vehicle.start_node][jobs[first.job_id].node]
        departure = max(vehicle.available_from, first.start - drive)
        route.stops[0] = replace(first, arrival=departure + drive)
        departures[route.vehicle_id] = departure
    return departures


def _fits(problem: Problem, vehicle: Vehicle, jobs: list[Job], back_home=False) -> bool:
    starts = earliest_starts(problem, vehicle, jobs)
    if starts is None:
        return False
    if not back_home or not jobs:
        return True
    last = jobs[-1]
    return starts[-1] + last.service + problem.travel[last.node][vehicle.end_node] \
        <= vehicle.available_until


def _schedule(problem: Problem, vehicle: Vehicle, jobs: list[Job]) -> Route:
    route = Route(vehicle.id)
    if not jobs:
        return route
    here, free_at = vehicle.start_node, vehicle.available_from
    for job, start in zip(jobs, earliest_starts(problem, vehicle, jobs), strict=True):
        arrival = free_at + problem.travel[here][job.node]
        route.stops.append(Stop(job.id, arrival, start))
        route.travel += problem.travel[here][job.node]
        route.cost += problem.costs[here][job.node]
        here, free_at = job.node, start + job.service
    route.travel += problem.travel[here][vehicle.end_node]
    route.cost += problem.costs[here][vehicle.end_node]
    return route
