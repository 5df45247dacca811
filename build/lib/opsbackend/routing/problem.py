"""A vehicle routing problem with time windows, in plain numbers (seconds, or any unit).

Nodes are indexes into the travel matrices: each vehicle starts and ends at
its own node (its base), each job sits at its node. Everything is integer for
the solver; callers scale real distances first.
"""

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Vehicle:
    id: int
    start_node: int
    end_node: int
    available_from: int
    available_until: int
    skills: frozenset[str] = frozenset()
    capacity: int | None = None


@dataclass(frozen=True)
class Job:
    id: int
    node: int
    window_start: int
    window_end: int
    service: int
    skills: frozenset[str] = frozenset()
    demand: int = 0


@dataclass(frozen=True)
class Problem:
    vehicles: list[Vehicle]
    jobs: list[Job]
    travel: list[list[int]]  # time between nodes
    cost: list[list[int]] | None = None  # what to minimise; travel time when None
    horizon: int = 24 * 3600


@dataclass(frozen=True)
class Stop:
    job_id: int
    arrival: int
    start: int


@dataclass
class Route:
    vehicle_id: int
    stops: list[Stop] = field(default_factory=list)
    travel: int = 0
    cost: int = 0


@dataclass
class Solution:
    routes: list[Route]
    unassigned: dict[int, str]  # job id -> why
    objective: int = 0
    status: str = "ok"

    @property
    def vehicles_used(self) -> int:
        return sum(1 for route in self.routes if route.stops)


def not_fitting(problem: Problem) -> str:
    """Why a job the search left out was left out (the engines cannot say which limit bit)."""
    limits = "time windows, shifts, travel"
    if any(vehicle.capacity is not None for vehicle in problem.vehicles):
        limits += ", capacity"
    return f"does not fit any unit's day ({limits})"


def leave_just_in_time(problem: Problem, solution: Solution) -> dict[int, int]:
    """When each used route should leave its base: late enough not to wait at the first door.

    Engines start a route as early as its shift allows, so a unit would wait at the first
    home. Leaving later changes no stop's start; later stops keep their times (and any
    wait there), since starting a visit early in its window is what the plan wants. The
    first stop's arrival is moved to match. Returns {vehicle id: departure}.
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
