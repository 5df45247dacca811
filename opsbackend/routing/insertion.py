"""Fitting one more job into routes already given out, moving as few other jobs as possible.

Every vehicle keeps its order. First the new job is tried at every place of every
route: a place is judged in constant time, since each route knows when its jobs
start at the earliest (forward) and may start at the latest with every later job
still on time (backward). If no place is free, one job of one route makes room:
it comes out, the new job goes in, and the job taken out goes elsewhere in the
same route (reordered; nobody changes unit) or to another vehicle (one job
moved). Candidates rank by jobs moved to another vehicle, then jobs reordered,
then the new job's start (it is urgent), then the travel cost added. Only the
winner is built; the others are judged from their numbers alone.
"""

from collections.abc import Callable, Iterator
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


Candidate = tuple[tuple, Callable[[], Insertion]]  # (rank, how to build it)


def insert(problem: Problem, orders: dict[int, list[int]], job_id: int) -> Insertion | None:
    """The best way to add ``job_id`` to ``orders`` (each a feasible order), or None."""
    jobs = {job.id: job for job in problem.jobs}
    new = jobs[job_id]
    routes = [_Route(problem, vehicle, [jobs[j] for j in orders.get(vehicle.id, [])])
              for vehicle in problem.vehicles]
    able = [route for route in routes if route.could_take(new)]
    for search in (_placed, _reordered, _moved):
        found = [candidate for route in able for candidate in search(route, routes, new)]
        if found:
            return min(found, key=lambda candidate: candidate[0])[1]()
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

    def could_take(self, job: Job) -> bool:
        vehicle = self.vehicle
        return (job.skills <= vehicle.skills and self.starts is not None
                and vehicle.available_from <= job.window_end
                and job.window_start + job.service <= vehicle.available_until)

    def without(self, position: int) -> "_Route":
        return _Route(self.problem, self.vehicle,
                      self.jobs[:position] + self.jobs[position + 1:])

    def with_job(self, position: int, job: Job) -> "_Route":
        return _Route(self.problem, self.vehicle,
                      self.jobs[:position] + [job] + self.jobs[position:])

    def node_before(self, position: int) -> int:
        return self.jobs[position - 1].node if position else self.vehicle.start_node

    def node_after(self, position: int) -> int:
        return self.jobs[position].node if position < len(self.jobs) else self.vehicle.end_node

    def places(self, job: Job) -> Iterator[tuple[int, int, int]]:
        """(position, start, added cost) of every place where ``job`` fits."""
        vehicle, travel, cost = self.vehicle, self.problem.travel, self.problem.costs
        if not self.could_take(job):
            return
        if vehicle.capacity is not None and self.load + job.demand > vehicle.capacity:
            return
        free = vehicle.available_from
        for position in range(len(self.jobs) + 1):
            if position:
                previous = self.jobs[position - 1]
                free = self.starts[position - 1] + previous.service
            if free > job.window_end:
                return  # every later place is later still
            before, after = self.node_before(position), self.node_after(position)
            start = max(job.window_start, free + travel[before][job.node])
            latest = self.latest[position] if position < len(self.jobs) \
                else vehicle.available_until
            if start <= job.window_end and \
                    start + job.service + travel[job.node][after] <= latest:
                yield (position, start,
                       cost[before][job.node] + cost[job.node][after] - cost[before][after])

    def removal_saving(self, position: int) -> int:
        cost = self.problem.costs
        before, job = self.node_before(position), self.jobs[position].node
        after = self.node_after(position + 1)
        return cost[before][job] + cost[job][after] - cost[before][after]

    def order(self) -> list[int]:
        return [job.id for job in self.jobs]


def _placed(route: _Route, routes, new: Job) -> Iterator[Candidate]:
    for position, start, added in route.places(new):
        yield (0, 0, start, added), lambda p=position, s=start: Insertion(
            route.vehicle.id, s, {route.vehicle.id: route.with_job(p, new).order()}, {})


def _reordered(route: _Route, routes, new: Job) -> Iterator[Candidate]:
    for k, out in enumerate(route.jobs):
        rest = route.without(k)
        if not rest.feasible:
            continue
        saving = route.removal_saving(k)
        for position, start, added in rest.places(new):
            room = rest.with_job(position, new)
            for back, _s, added_back in room.places(out):
                # Put back after the new job, it leaves the new job's start as it is.
                start_new = start if back > position else _start_after(room, back, out,
                                                                      position)
                yield (0, 1, start_new, added + added_back - saving), \
                    lambda r=room, b=back, o=out, s=start_new: Insertion(
                        route.vehicle.id, s, {route.vehicle.id: r.with_job(b, o).order()},
                        {}, (o.id,))


def _moved(route: _Route, routes, new: Job) -> Iterator[Candidate]:
    for k, out in enumerate(route.jobs):
        rest = route.without(k)
        if not rest.feasible:
            continue
        best_new = min(rest.places(new), key=lambda p: (p[1], p[2]), default=None)
        if best_new is None:
            continue
        # Where the job taken out goes changes nothing for the new one: its cheapest place.
        elsewhere = min(((added, n, back) for n, other in enumerate(routes)
                         if other is not route for back, _s, added in other.places(out)),
                        default=None)
        if elsewhere is None:
            continue
        moved_cost, n, back = elsewhere
        position, start, added = best_new
        yield (1, 0, start, added + moved_cost - route.removal_saving(k)), \
            lambda rest=rest, p=position, o=out, other=routes[n], b=back, s=start: Insertion(
                route.vehicle.id, s,
                {route.vehicle.id: rest.with_job(p, new).order(),
                 other.vehicle.id: other.with_job(b, o).order()},
                {o.id: (route.vehicle.id, other.vehicle.id)})


def _start_after(room: _Route, back: int, out: Job, index: int) -> int:
    """When the job at ``index`` of ``room`` starts once ``out`` goes in before it, at
    ``back``."""
    travel = room.problem.travel
    here = room.node_before(back)
    free = room.starts[back - 1] + room.jobs[back - 1].service if back else \
        room.vehicle.available_from
    for job in [out, *room.jobs[back:index + 1]]:
        start = max(job.window_start, free + travel[here][job.node])
        free, here = start + job.service, job.node
    return start
