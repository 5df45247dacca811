"""A vehicle routing problem with time windows, in plain numbers (seconds, or any unit).

Nodes are indexes into the travel matrices: each vehicle starts and ends at
its own node (its base), each job sits at its node. Everything is integer for
the solver; callers scale real distances first.
"""

from dataclasses import dataclass, field


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
