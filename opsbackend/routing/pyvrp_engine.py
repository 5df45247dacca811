"""The default routing engine: PyVRP (iterated local search, MIT), the state of the art.

The problem becomes PyVRP's data directly (numpy matrices, no per-edge objects):

- every job gets a location of its own, so two visits at one home may need
  different skills; every vehicle start and end node is a depot;
- vehicles alike in every respect (Solomon's fleets) form one vehicle type,
  otherwise each unit is its own type: its start and end depots, its shift as
  the type's time window, its capacity;
- skills: PyVRP has none, so each set of skills among the vehicles gets a
  routing profile (its own distance and duration matrices) in which every edge
  into or out of a job needing a skill outside that set is prohibitive: longer
  than the whole horizon, so a route through it can never be on time;
- objectives: ``distance`` is the cost matrix alone; ``fleet`` puts a fixed
  cost on every vehicle used that outweighs any travel (``problem.weights``).

The search first asks for every job (required clients: the fastest way to a
complete plan). If it has found no complete feasible plan by a quarter of the
time, some jobs cannot all fit: it goes on from where it is with every job
optional, each worth more than any travel or vehicle, so it serves as many as
it can. The seed is fixed: the same problem and time give the same plan on an
idle machine (the search is stopped by the clock, so a loaded machine may stop
it elsewhere).
"""

import time
import warnings

import numpy as np
from pyvrp import (
    Activity,
    ActivityType,
    Client,
    Depot,
    Location,
    ProblemData,
)
from pyvrp import Route as PyvrpRoute
from pyvrp import Solution as PyvrpSolution
from pyvrp import VehicleType as PyvrpVehicleType
from pyvrp import solve as pyvrp_solve
from pyvrp.exceptions import PenaltyBoundWarning

from opsbackend.routing.problem import Problem, Solution, Vehicle, weights
from opsbackend.routing.timeline import solution_from_orders

SEED = 1
# Kept back from the time limit (3 %, at most 0.3 s), so the answer comes within it: the
# search stops between iterations, and on a busy machine one iteration can take 0.1 s.
READING_RESERVE = 0.03
ALL_REQUIRED_SHARE = 0.25  # of the time, to find a plan that serves every job
INFEASIBLE = np.iinfo(np.int64).max  # PyVRP's cost of an infeasible solution


def solve(problem: Problem, seconds: float = 10) -> Solution:
    deadline = time.perf_counter() + seconds - min(0.3, seconds * READING_RESERVE)
    model = _Model(problem)  # every job possible, every one screened by engines.solver
    started = time.perf_counter()
    switch = started + (deadline - started) * ALL_REQUIRED_SHARE
    result = _search(model.data(required=True), _Clock(deadline, give_up_at=switch))
    best = result.best
    if not best.is_feasible() and time.perf_counter() < deadline:
        optional = model.data(required=False)
        result = _search(optional, _Clock(deadline), start=_carry(optional, best))
        best = result.best
    orders = model.orders(best)
    return solution_from_orders(problem, orders, {},
                                objective=int(best.distance_cost() + best.fixed_vehicle_cost()))


class _Model:
    """The problem in PyVRP's terms, and the way back from PyVRP's routes to job ids."""

    def __init__(self, problem: Problem):
        self.problem, self.jobs = problem, problem.jobs
        weight = weights(problem)
        self.job_weight = weight.job
        depot_nodes = sorted({v.start_node for v in problem.vehicles}
                             | {v.end_node for v in problem.vehicles})
        self.depot_of = {node: n for n, node in enumerate(depot_nodes)}
        self.nodes = depot_nodes + [job.node for job in self.jobs]  # location -> node
        self.skill_sets = sorted({v.skills for v in problem.vehicles}, key=sorted)
        self.capacities = any(v.capacity is not None for v in problem.vehicles)
        self.types, self.members = self._vehicle_types(problem, weight.vehicle)

    def data(self, required: bool) -> ProblemData:
        first_job = len(self.depot_of)
        demand = (lambda job: [job.demand]) if self.capacities else (lambda job: [])
        clients = [Client(first_job + n, delivery=demand(job), service_duration=job.service,
                          tw_early=job.window_start, tw_late=job.window_end,
                          required=required, prize=0 if required else self.job_weight)
                   for n, job in enumerate(self.jobs)]
        depots = [Depot(location) for location in range(first_job)]
        locations = [Location(0, 0) for _ in self.nodes]
        distance, duration = self._matrices()
        profiles = [(distance, duration)] + [self._profile(distance, duration, skills)
                                             for skills in self.skill_sets]
        return ProblemData(locations, clients, depots, self.types,
                           [p[0] for p in profiles], [p[1] for p in profiles])

    def orders(self, best: PyvrpSolution) -> dict[int, list[int]]:
        orders, taken = {}, {n: 0 for n in range(len(self.types))}
        for route in best.routes():
            kind = route.vehicle_type()
            vehicle = self.members[kind][taken[kind]]
            taken[kind] += 1
            orders[vehicle.id] = [self.jobs[a.idx].id for a in route if a.is_client()]
        return orders

    def _vehicle_types(self, problem: Problem, fixed_cost: int):
        groups: dict[tuple, list[Vehicle]] = {}
        for vehicle in problem.vehicles:
            key = (vehicle.start_node, vehicle.end_node, vehicle.available_from,
                   vehicle.available_until, vehicle.skills, vehicle.capacity)
            groups.setdefault(key, []).append(vehicle)
        unlimited = sum(job.demand for job in problem.jobs) + 1
        types, members = [], []
        # Profile 0 bars nothing; profile n + 1 is the n-th set of skills.
        profile_of = {skills: n + 1 for n, skills in enumerate(self.skill_sets)}
        for (start, end, opens, closes, skills, capacity), alike in groups.items():
            types.append(PyvrpVehicleType(
                num_available=len(alike),
                capacity=[unlimited if capacity is None else capacity] if self.capacities
                else [],
                start_depot=self.depot_of[start], end_depot=self.depot_of[end],
                fixed_cost=fixed_cost, tw_early=opens, tw_late=closes,
                profile=profile_of[skills]))
            members.append(alike)
        return types, members

    def _matrices(self):
        nodes = np.asarray(self.nodes)
        travel = np.asarray(self.problem.travel, dtype=np.int64)[np.ix_(nodes, nodes)]
        cost = travel if self.problem.cost is None else \
            np.asarray(self.problem.cost, dtype=np.int64)[np.ix_(nodes, nodes)]
        # A job's own location: leaving and reaching it again costs nothing.
        np.fill_diagonal(cost, 0)
        np.fill_diagonal(travel, 0)
        return cost, travel

    def _profile(self, distance, duration, skills):
        barred = [len(self.depot_of) + n for n, job in enumerate(self.jobs)
                  if not job.skills <= skills]
        if not barred:
            return distance, duration
        prohibitive = 10 * max(self.problem.horizon, int(duration.max()), int(distance.max()),
                               max(job.window_end for job in self.jobs)) + 1
        distance, duration = distance.copy(), duration.copy()
        for matrix in (distance, duration):
            matrix[barred, :] = prohibitive
            matrix[:, barred] = prohibitive
            matrix[barred, barred] = 0
        return distance, duration


class _Clock:
    """PyVRP's stopping criterion: the deadline, or giving up on a complete plan earlier."""

    def __init__(self, deadline: float, give_up_at: float | None = None):
        self.deadline, self.give_up_at = deadline, give_up_at

    def __call__(self, best_cost) -> bool:
        now = time.perf_counter()
        if self.give_up_at is not None and now >= self.give_up_at and best_cost == INFEASIBLE:
            return True
        return now >= self.deadline


def _search(data: ProblemData, clock: _Clock, start: PyvrpSolution | None = None):
    with warnings.catch_warnings():
        # "struggles to find a feasible solution": expected when not every job fits, and
        # answered by the search with optional jobs.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        return pyvrp_solve(data, stop=clock, seed=SEED, collect_stats=False, display=False,
                           initial_solution=start)


def _carry(data: ProblemData, best: PyvrpSolution) -> PyvrpSolution:
    """The all-required search's routes as the start of the search with optional jobs."""
    routes = [PyvrpRoute(data, [Activity(ActivityType.CLIENT, a.idx) for a in route
                                if a.is_client()], route.vehicle_type())
              for route in best.routes()]
    return PyvrpSolution(data, routes)
