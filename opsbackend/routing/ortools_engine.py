"""A routing engine on Google OR-Tools: hard time windows, skills and shifts as constraints.

Jobs nobody can do never get here (``engines.solver`` screens them out with
their reason); each job is a disjunction whose penalty outweighs any travel or
vehicle (``problem.weights``), so a job the search cannot fit is dropped and
reported, never the whole plan lost. The order found is timed by ``routing.timeline``.
OR-Tools is optional (a dev dependency), like VROOM: a reference beside PyVRP.
"""

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from opsbackend.routing.problem import Problem, Solution, weights
from opsbackend.routing.timeline import solution_from_orders


def solve(problem: Problem, seconds: float = 10) -> Solution:
    jobs = problem.jobs
    weight = weights(problem)
    # Solver nodes: every vehicle's start and end, then the jobs.
    nodes = [v.start_node for v in problem.vehicles] + [v.end_node for v in problem.vehicles]
    nodes += [job.node for job in jobs]
    count = len(problem.vehicles)
    manager = pywrapcp.RoutingIndexManager(len(nodes), count, list(range(count)),
                                           list(range(count, 2 * count)))
    routing = pywrapcp.RoutingModel(manager)
    service = [0] * (2 * count) + [job.service for job in jobs]
    cost = [[problem.costs[a][b] for b in nodes] for a in nodes]
    time_with_service = [[problem.travel[a][b] + service[i] for b in nodes]
                         for i, a in enumerate(nodes)]
    time_callback = routing.RegisterTransitMatrix(time_with_service)
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(cost))
    if weight.vehicle:
        routing.SetFixedCostOfAllVehicles(weight.vehicle)

    routing.AddDimension(time_callback, problem.horizon, problem.horizon, False, "time")
    time = routing.GetDimensionOrDie("time")
    for position, job in enumerate(jobs):
        index = manager.NodeToIndex(2 * count + position)
        time.CumulVar(index).SetRange(job.window_start, job.window_end)
        allowed = [n for n, v in enumerate(problem.vehicles) if job.skills <= v.skills]
        if len(allowed) < count:
            routing.VehicleVar(index).SetValues([-1] + allowed)
        routing.AddDisjunction([index], weight.job)
    for n, vehicle in enumerate(problem.vehicles):
        time.CumulVar(routing.Start(n)).SetRange(vehicle.available_from, vehicle.available_until)
        time.CumulVar(routing.End(n)).SetRange(vehicle.available_from, vehicle.available_until)
    _capacities(routing, manager, problem, jobs, count)

    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION)
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    parameters.time_limit.FromMilliseconds(int(seconds * 1000))
    assignment = routing.SolveWithParameters(parameters)
    if assignment is None:
        unassigned = {job.id: "no feasible plan found in the time limit" for job in jobs}
        solution = solution_from_orders(problem, {}, unassigned)
        solution.status = "no_solution"
        return solution
    orders = {}
    for n, vehicle in enumerate(problem.vehicles):
        index, order = assignment.Value(routing.NextVar(routing.Start(n))), []
        while not routing.IsEnd(index):
            order.append(jobs[manager.IndexToNode(index) - 2 * count].id)
            index = assignment.Value(routing.NextVar(index))
        orders[vehicle.id] = order
    return solution_from_orders(problem, orders, {},
                                objective=assignment.ObjectiveValue())


def _capacities(routing, manager, problem, jobs, count) -> None:
    if all(v.capacity is None for v in problem.vehicles):
        return
    demands = [0] * (2 * count) + [job.demand for job in jobs]
    callback = routing.RegisterUnaryTransitVector(demands)
    routing.AddDimensionWithVehicleCapacity(
        callback, 0, [v.capacity or 10**9 for v in problem.vehicles], True, "load")
