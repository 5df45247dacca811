"""Fitting one more job into routes already given out, moving as few other jobs as possible.

Every vehicle keeps its order. First the new job is tried at every place of every
route: a place is judged in constant time, since each route knows when its jobs
start at the earliest (forward) and may start at the latest with every later job
still on time (backward). If no place is free, one job of one route makes room:
it comes out, the new job goes in, and the job taken out goes elsewhere in the
same route (reordered; nobody changes unit) or to another vehicle (one job
moved). Candidates rank by jobs moved to another vehicle, then jobs reordered,
then the new job's start (it is urgent), then the travel cost added.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from opsbackend.routing.problem import Job, Problem, Vehicle
from opsbackend.routing.timeline import earliest_starts, latest_starts


@dataclass(frozen=True)
class Insertion:
    vehicle_id: int  # where the new job goes
    start: int
    orders: dict[int, list[int]]  # the new order of each vehicle whose order changed
    moved: dict[int, tuple[int, int]]  # job id -> (from vehicle, to vehicle)
    reordered: tuple[int, ...] = ()

    def rank(self, cost: int) -> tuple:
        return (len(self.moved), len(self.reordered), self.start, cost)


def insert(problem: Problem, orders: dict[int, list[int]], job_id: int) -> Insertion | None:
    """The best way to add ``job_id`` to ``orders`` (each a feasible order), or None."""
    jobs = {job.id: job for job in problem.jobs}
    new = jobs[job_id]
    routes = [_Route(problem, vehicle, [jobs[j] for j in orders.get(vehicle.id, [])])
              for vehicle in problem.vehicles]
    for search in (_placed, _reordered, _moved):
        found = [candidate for route in routes if new.skills <= route.vehicle.skills
                 for candidate in search(problem, route, routes, new)]
        if found:
            return min(found, key=lambda pair: pair[0].rank(pair[1]))[0]
    return None


class _Route:
    def __init__(self, problem: Problem, vehicle: Vehicle, jobs: list[Job]):
        self.problem, self.vehicle, self.jobs = problem, vehicle, jobs
        self.starts = earliest_starts(problem, vehicle, jobs)
        self.latest = latest_starts(problem, vehicle, jobs) if self.starts is not None else []
        self.load = sum(job.demand for job in jobs)

    @property
    def feasible(self) -> bool:
        return self.starts is not None and all(
            s <= late for s, late in zip(self.starts, self.latest, strict=True))

    def without(self, position: int) -> "_Route":
        return _Route(self.problem, self.vehicle,
                      self.jobs[:position] + self.jobs[position + 1:])

    def with_job(self, position: int, job: Job) -> "_Route":
        return _Route(self.problem, self.vehicle,
                      self.jobs[:position] + [job] + self.jobs[position:])

    def places(self, job: Job) -> Iterator[tuple[int, int, int]]:
        """(position, start, added cost) of every place where ``job`` fits."""
        vehicle, travel, cost = self.vehicle, self.problem.travel, self.problem.costs
        if not job.skills <= vehicle.skills or self.starts is None:
            return
        if vehicle.capacity is not None and self.load + job.demand > vehicle.capacity:
            return
        before, free = vehicle.start_node, vehicle.available_from
        for position in range(len(self.jobs) + 1):
            if position:
                previous = self.jobs[position - 1]
                before, free = previous.node, self.starts[position - 1] + previous.service
            if free > job.window_end:
                return  # every later place is later still
            start = max(job.window_start, free + travel[before][job.node])
            done = start + job.service
            if position < len(self.jobs):
                after, latest = self.jobs[position].node, self.latest[position]
            else:
                after, latest = vehicle.end_node, vehicle.available_until
            if start <= job.window_end and done + travel[job.node][after] <= latest:
                yield (position, start,
                       cost[before][job.node] + cost[job.node][after] - cost[before][after])

    def order(self) -> list[int]:
        return [job.id for job in self.jobs]


def _placed(problem, route: _Route, routes, new: Job):
    for position, start, added in route.places(new):
        yield Insertion(route.vehicle.id, start,
                        {route.vehicle.id: route.with_job(position, new).order()}, {}), added


def _reordered(problem, route: _Route, routes, new: Job):
    before = _route_cost(problem, route)
    for k, out in enumerate(route.jobs):
        rest = route.without(k)
        if not rest.feasible:
            continue
        for position, _start, _added in rest.places(new):
            room = rest.with_job(position, new)
            for back, _s, _a in room.places(out):
                final = room.with_job(back, out)
                start = final.starts[final.jobs.index(new)]
                yield Insertion(route.vehicle.id, start, {route.vehicle.id: final.order()},
                                {}, (out.id,)), _route_cost(problem, final) - before


def _moved(problem, route: _Route, routes, new: Job):
    before = _route_cost(problem, route)
    for k, out in enumerate(route.jobs):
        rest = route.without(k)
        if not rest.feasible:
            continue
        best_new = min(rest.places(new), key=lambda p: (p[1], p[2]), default=None)
        if best_new is None:
            continue
        # Where the job taken out goes changes nothing for the new one: its cheapest place.
        elsewhere = min(((added, other, back) for other in routes if other is not route
                         for back, _s, added in other.places(out)),
                        key=lambda option: option[0], default=None)
        if elsewhere is None:
            continue
        moved_cost, other, back = elsewhere
        position, start, _added = best_new
        room = rest.with_job(position, new)
        orders = {route.vehicle.id: room.order(),
                  other.vehicle.id: other.with_job(back, out).order()}
        yield Insertion(route.vehicle.id, start, orders,
                        {out.id: (route.vehicle.id, other.vehicle.id)}), \
            _route_cost(problem, room) - before + moved_cost


def _route_cost(problem: Problem, route: _Route) -> int:
    nodes = [route.vehicle.start_node] + [job.node for job in route.jobs] + \
        [route.vehicle.end_node]
    return sum(problem.costs[a][b] for a, b in zip(nodes, nodes[1:], strict=False))
