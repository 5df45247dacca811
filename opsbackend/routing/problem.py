"""A vehicle routing problem with time windows, in plain numbers (seconds, or any unit).

Nodes are indexes into the travel matrices: each vehicle starts and ends at
its own nodes (its base, or where it is now), each job sits at its node.
Everything is integer for the solver; callers scale real distances first.
"""

from dataclasses import dataclass, field

# What a plan minimises: total travel (the distance-only reference values measure this),
# or the number of vehicles first and travel second.
OBJECTIVES = ("distance", "fleet")


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
    objective: str = "distance"

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; known: "
                             f"{', '.join(OBJECTIVES)}")

    @property
    def costs(self) -> list[list[int]]:
        return self.cost if self.cost is not None else self.travel


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


NO_ROOM = "does not fit any unit's day"


def not_fitting(problem: Problem) -> str:
    """Why a job the search left out was left out (the engines cannot say which limit bit)."""
    limits = "time windows, shifts, travel"
    if any(vehicle.capacity is not None for vehicle in problem.vehicles):
        limits += ", capacity"
    return f"{NO_ROOM} ({limits})"


def impossible_jobs(problem: Problem) -> dict[int, str]:
    """Jobs no vehicle could ever do, with the reason (before any search)."""
    reasons = {}
    for job in problem.jobs:
        able = [v for v in problem.vehicles if job.skills <= v.skills]
        if not able:
            reasons[job.id] = "no unit has the skills " + ", ".join(sorted(job.skills))
            continue
        reachable = [
            v for v in able
            if v.available_from + problem.travel[v.start_node][job.node] <= job.window_end
            and max(job.window_start, v.available_from + problem.travel[v.start_node][job.node])
            + job.service + problem.travel[job.node][v.end_node] <= v.available_until
        ]
        if not reachable:
            reasons[job.id] = "no unit on shift can reach it inside its window"
    return reasons


@dataclass(frozen=True)
class Weights:
    """Costs that make the engines rank plans lexicographically.

    Every job served outweighs any saving in vehicles or travel (a missed bag change is
    worse than any detour); under the fleet objective every vehicle saved outweighs any
    travel. ``bound`` exceeds the cost of any set of routes over these nodes.
    """

    vehicle: int
    job: int


def weights(problem: Problem) -> Weights:
    nodes = {job.node for job in problem.jobs}
    nodes |= {v.start_node for v in problem.vehicles} | {v.end_node for v in problem.vehicles}
    costs = problem.costs
    longest = max((costs[a][b] for a in nodes for b in nodes), default=0)
    bound = (len(problem.jobs) + 2 * len(problem.vehicles) + 1) * max(longest, 1)
    vehicle = bound if problem.objective == "fleet" else 0
    return Weights(vehicle=vehicle, job=bound + vehicle * (len(problem.vehicles) + 1))
