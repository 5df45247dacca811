"""The routing engine: Google OR-Tools, hard time windows, skills and shifts as constraints.

Jobs nobody can do are found before the search (no vehicle has the skills, or the
window cannot be reached from any start in time) and reported with that reason;
the rest are disjunctions with a large penalty, so a job the search cannot fit
is dropped and reported, never the whole plan lost.
"""

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from opsbackend.routing.problem import Problem, Route, Solution, Stop, not_fitting

DROP_PENALTY = 10_000_000


def solve(problem: Problem, seconds: float = 10, vehicle_fixed_cost: int = 0) -> Solution:
    if not problem.vehicles:
        return Solution([], {job.id: "no units available" for job in problem.jobs})
    impossible = _impossible_jobs(problem)
    jobs = [job for job in problem.jobs if job.id not in impossible]
    if not jobs:
        return Solution([_empty(v) for v in problem.vehicles], impossible)
    # Solver nodes: every vehicle's start and end, then the jobs.
    nodes = [v.start_node for v in problem.vehicles] + [v.end_node for v in problem.vehicles]
    nodes += [job.node for job in jobs]
    count = len(problem.vehicles)
    starts = list(range(count))
    ends = list(range(count, 2 * count))
    manager = pywrapcp.RoutingIndexManager(len(nodes), count, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    service = [0] * (2 * count) + [job.service for job in jobs]

    travel = [[problem.travel[a][b] for b in nodes] for a in nodes]
    cost_source = problem.cost or problem.travel
    cost = [[cost_source[a][b] for b in nodes] for a in nodes]
    time_with_service = [[travel[i][j] + service[i] for j in range(len(nodes))]
                         for i in range(len(nodes))]
    time_callback = routing.RegisterTransitMatrix(time_with_service)
    cost_callback = routing.RegisterTransitMatrix(cost)
    routing.SetArcCostEvaluatorOfAllVehicles(cost_callback)
    if vehicle_fixed_cost:
        routing.SetFixedCostOfAllVehicles(vehicle_fixed_cost)

    routing.AddDimension(time_callback, problem.horizon, problem.horizon, False, "time")
    time = routing.GetDimensionOrDie("time")
    for position, job in enumerate(jobs):
        index = manager.NodeToIndex(2 * count + position)
        time.CumulVar(index).SetRange(job.window_start, job.window_end)
        allowed = [n for n, v in enumerate(problem.vehicles) if job.skills <= v.skills]
        if len(allowed) < count:
            routing.VehicleVar(index).SetValues([-1] + allowed)
        routing.AddDisjunction([index], DROP_PENALTY)
    for n, vehicle in enumerate(problem.vehicles):
        time.CumulVar(routing.Start(n)).SetRange(vehicle.available_from, vehicle.available_until)
        time.CumulVar(routing.End(n)).SetRange(vehicle.available_from, vehicle.available_until)
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.Start(n)))
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(n)))
    _capacities(routing, manager, problem, jobs, count)

    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION)
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    parameters.time_limit.FromMilliseconds(int(seconds * 1000))
    assignment = routing.SolveWithParameters(parameters)
    if assignment is None:
        unassigned = impossible | {job.id: "no feasible plan found in the time limit"
                                   for job in jobs}
        return Solution([_empty(v) for v in problem.vehicles], unassigned, status="no_solution")
    return _read(problem, jobs, routing, manager, assignment, time, cost, travel, impossible,
                 count)


def _read(problem, jobs, routing, manager, assignment, time, cost, travel, impossible, count):
    routes, served = [], set()
    for n, vehicle in enumerate(problem.vehicles):
        route = Route(vehicle.id)
        index = routing.Start(n)
        while not routing.IsEnd(index):
            following = assignment.Value(routing.NextVar(index))
            a, b = manager.IndexToNode(index), manager.IndexToNode(following)
            route.cost += cost[a][b]
            route.travel += travel[a][b]
            if b >= 2 * count:
                job = jobs[b - 2 * count]
                start = assignment.Value(time.CumulVar(following))
                arrival = assignment.Value(time.CumulVar(index)) + travel[a][b] + (
                    jobs[a - 2 * count].service if a >= 2 * count else 0)
                route.stops.append(Stop(job.id, min(arrival, start), start))
                served.add(job.id)
            index = following
        if not route.stops:
            route.cost = route.travel = 0
        routes.append(route)
    unassigned = dict(impossible)
    for job in jobs:
        if job.id not in served:
            unassigned[job.id] = not_fitting(problem)
    return Solution(routes, unassigned, objective=assignment.ObjectiveValue())


def _impossible_jobs(problem: Problem) -> dict[int, str]:
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


def _capacities(routing, manager, problem, jobs, count) -> None:
    if all(v.capacity is None for v in problem.vehicles):
        return
    demands = [0] * (2 * count) + [job.demand for job in jobs]
    callback = routing.RegisterUnaryTransitVector(demands)
    routing.AddDimensionWithVehicleCapacity(
        callback, 0, [v.capacity or 10**9 for v in problem.vehicles], True, "load")


def _empty(vehicle) -> Route:
    return Route(vehicle.id)
