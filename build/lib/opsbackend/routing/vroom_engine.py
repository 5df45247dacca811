"""A second routing engine behind the same ``solve(problem, seconds)`` as OR-Tools: VROOM.

pyvroom (BSD-2) wraps the VROOM engine. It is optional: nothing imports this
module unless asked for the "vroom" engine, and OR-Tools stays the default (the
issue names it). Same problem in, same ``Solution`` out, same reasons for what
cannot be done: the jobs nobody could ever do are found by the same pre-check,
and whatever VROOM leaves unassigned gets the same "does not fit" reason.
"""

from datetime import timedelta

from opsbackend.routing.ortools_engine import _impossible_jobs
from opsbackend.routing.problem import Problem, Route, Solution, Stop, not_fitting

EXPLORATION_LEVEL = 5  # VROOM's deepest search; its published Solomon figures use it
THREADS = 2


def solve(problem: Problem, seconds: float = 10, vehicle_fixed_cost: int = 0) -> Solution:
    import vroom  # optional dependency: imported only when this engine is used

    if not problem.vehicles:
        return Solution([], {job.id: "no units available" for job in problem.jobs})
    impossible = _impossible_jobs(problem)
    jobs = [job for job in problem.jobs if job.id not in impossible]
    if not jobs:
        return Solution([Route(v.id) for v in problem.vehicles], impossible)

    skill_ids = _skill_ids(problem)
    solver_input = vroom.Input()
    solver_input.set_durations_matrix("car", problem.travel)
    if problem.cost is not None:
        solver_input.set_costs_matrix("car", problem.cost)
    capacities = any(v.capacity is not None for v in problem.vehicles)
    for n, vehicle in enumerate(problem.vehicles):
        solver_input.add_vehicle(vroom.Vehicle(
            n, start=vehicle.start_node, end=vehicle.end_node,
            capacity=[vehicle.capacity if vehicle.capacity is not None else 10**9]
            if capacities else (),
            skills={skill_ids[s] for s in vehicle.skills},
            time_window=vroom.TimeWindow(vehicle.available_from, vehicle.available_until),
            costs=vroom.VehicleCosts(fixed=vehicle_fixed_cost),
        ))
    for n, job in enumerate(jobs):
        solver_input.add_job(vroom.Job(
            n, location=job.node, default_service=job.service,
            delivery=[job.demand] if capacities else (),
            skills={skill_ids[s] for s in job.skills},
            time_windows=[vroom.TimeWindow(job.window_start, job.window_end)],
        ))
    answer = solver_input.solve(exploration_level=EXPLORATION_LEVEL, nb_threads=THREADS,
                                timeout=timedelta(seconds=seconds)).to_dict()
    return _read(problem, jobs, answer, impossible)


def _read(problem: Problem, jobs, answer: dict, impossible: dict[int, str]) -> Solution:
    by_vehicle = {route["vehicle"]: route for route in answer.get("routes", [])}
    routes, served = [], set()
    cost_source = problem.cost or problem.travel
    for n, vehicle in enumerate(problem.vehicles):
        route = Route(vehicle.id)
        steps = by_vehicle.get(n, {}).get("steps", [])
        nodes = [vehicle.start_node]
        for step in steps:
            if step["type"] != "job":
                continue
            job = jobs[step["id"]]
            route.stops.append(Stop(job.id, step["arrival"],
                                    step["arrival"] + step.get("waiting_time", 0)))
            served.add(job.id)
            nodes.append(job.node)
        if route.stops:
            nodes.append(vehicle.end_node)
            for a, b in zip(nodes, nodes[1:], strict=False):
                route.travel += problem.travel[a][b]
                route.cost += cost_source[a][b]
        routes.append(route)
    unassigned = dict(impossible)
    for job in jobs:
        if job.id not in served:
            unassigned[job.id] = not_fitting(problem)
    return Solution(routes, unassigned, objective=answer.get("summary", {}).get("cost", 0))


def _skill_ids(problem: Problem) -> dict[str, int]:
    names = set()
    for item in [*problem.vehicles, *problem.jobs]:
        names |= item.skills
    return {name: n for n, name in enumerate(sorted(names))}
