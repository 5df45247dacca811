"""A routing engine on VROOM (pyvroom, BSD-2), behind the same ``solve(problem, seconds)``.

pyvroom is optional (a dev dependency): nothing imports this module unless asked
for the "vroom" engine (``engines.solver``). Same problem in, same ``Solution``
out, same reasons for what cannot be done: whatever VROOM leaves unassigned gets
the same "does not fit" reason (``engines.solver`` has screened out the jobs
nobody could ever do). VROOM always serves as many jobs as it can first; under the fleet
objective each vehicle used costs more than any travel (``problem.weights``).
"""

from datetime import timedelta

import vroom

from opsbackend.routing.problem import Problem, Solution, weights
from opsbackend.routing.timeline import solution_from_orders

EXPLORATION_LEVEL = 5  # VROOM's deepest search; its published Solomon figures use it
THREADS = 2


def solve(problem: Problem, seconds: float = 10) -> Solution:
    jobs = problem.jobs

    skill_ids = _skill_ids(problem)
    solver_input = vroom.Input()
    solver_input.set_durations_matrix("car", problem.travel)
    if problem.cost is not None:
        solver_input.set_costs_matrix("car", problem.cost)
    capacities = any(v.capacity is not None for v in problem.vehicles)
    fixed = weights(problem).vehicle
    for n, vehicle in enumerate(problem.vehicles):
        solver_input.add_vehicle(vroom.Vehicle(
            n, start=vehicle.start_node, end=vehicle.end_node,
            capacity=[vehicle.capacity if vehicle.capacity is not None else 10**9]
            if capacities else (),
            skills={skill_ids[s] for s in vehicle.skills},
            time_window=vroom.TimeWindow(vehicle.available_from, vehicle.available_until),
            costs=vroom.VehicleCosts(fixed=fixed),
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
    orders = {}
    for route in answer.get("routes", []):
        orders[problem.vehicles[route["vehicle"]].id] = [
            jobs[step["id"]].id for step in route["steps"] if step["type"] == "job"]
    return solution_from_orders(problem, orders, {},
                                objective=answer.get("summary", {}).get("cost", 0))


def _skill_ids(problem: Problem) -> dict[str, int]:
    names = set()
    for item in [*problem.vehicles, *problem.jobs]:
        names |= item.skills
    return {name: n for n, name in enumerate(sorted(names))}
