"""Solomon's VRPTW instances through the routing engines the day plans use.

Distances are Euclidean in double precision; the solver works on them scaled
by SCALE and rounded, and the reported distance is recomputed in double
precision on the routes found, rounded to 2 decimals, as the published values.
The fleet and its capacity come from the file. ``distance`` minimises total
distance only (its reference: the distance-only best-known values); ``fleet``
minimises vehicles first, then distance (the vehicles-first values).
"""

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from opsbackend.routing import engines
from opsbackend.routing.problem import Job, Problem, Vehicle

SCALE = 1000


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    # (x, y, demand, ready, due, service), customer 0 is the depot
    customers: list[tuple[float, float, int, int, int, int]]


class NotSolomon(ValueError):
    """The file is not a VRPTW instance in Solomon's format; the message says what is missing."""


def read(path: str | Path) -> Instance:
    try:
        text = Path(path).read_text()
    except UnicodeDecodeError as exc:
        raise NotSolomon(f"{path}: not a text file") from exc
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines:
        raise NotSolomon(f"{path}: empty")
    try:
        vehicle_row = next(i for i, row in enumerate(lines) if row[0] == "NUMBER") + 1
        number, capacity = int(lines[vehicle_row][0]), int(lines[vehicle_row][1])
    except (StopIteration, IndexError, ValueError) as exc:
        raise NotSolomon(f"{path}: no VEHICLE section (a NUMBER CAPACITY header, then a "
                         "line of two whole numbers)") from exc
    try:
        customers = [
            (float(r[1]), float(r[2]), int(float(r[3])), int(float(r[4])), int(float(r[5])),
             int(float(r[6])))
            for r in lines[vehicle_row + 1:]
            if r[0].isdigit() and len(r) >= 7
        ]
    except (ValueError, OverflowError) as exc:
        raise NotSolomon(f"{path}: a customer line is not seven numbers") from exc
    if number < 1 or len(customers) < 2:
        raise NotSolomon(f"{path}: needs a vehicle, the depot (customer 0) and a customer")
    return Instance(lines[0][0], number, capacity, customers)


def to_problem(instance: Instance, objective: str = "distance") -> Problem:
    points = [(c[0], c[1]) for c in instance.customers]
    lengths = [[round(math.dist(a, b) * SCALE) for b in points] for a in points]
    depot = instance.customers[0]
    vehicles = [Vehicle(n, 0, 0, depot[3] * SCALE, depot[4] * SCALE,
                        capacity=instance.capacity) for n in range(instance.vehicles)]
    jobs = [Job(n, n, c[3] * SCALE, c[4] * SCALE, c[5] * SCALE, demand=c[2])
            for n, c in enumerate(instance.customers) if n > 0]
    return Problem(vehicles, jobs, travel=lengths, horizon=depot[4] * SCALE,
                   objective=objective)


def distance(instance: Instance, solution) -> float:
    """Total route length in double precision, as the published values are summed."""
    points = [(c[0], c[1]) for c in instance.customers]
    total = 0.0
    for route in solution.routes:
        if route.stops:
            path = [0] + [stop.job_id for stop in route.stops] + [0]
            total += sum(math.dist(points[a], points[b])
                         for a, b in zip(path, path[1:], strict=False))
    return total


def solve_file(path: str | Path, seconds: float, engine: str = engines.DEFAULT_ENGINE,
               objective: str = "distance") -> dict:
    """Read, solve and measure within ``seconds`` in all (reading counts against the limit).

    The engine's module is loaded first: importing it is the process's cost, once.
    """
    solve = engines.solver(engine)
    started, cpu = time.perf_counter(), time.process_time()
    instance = read(path)
    problem = to_problem(instance, objective)
    solution = solve(problem, seconds - (time.perf_counter() - started))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    # On a busy machine the search gets less of the processor than the seconds it ran:
    # cpu_seconds says how much it had.
    return {"instance": instance.name, "objective": objective,
            "vehicles": solution.vehicles_used, "distance": round(distance(instance, solution), 2),
            "seconds": round(elapsed, 2), "cpu_seconds": round(cpu, 2),
            "unassigned": len(solution.unassigned)}


def gap_pct(distance: float, best: float) -> float:
    """How far above the best-known value, in per cent of it."""
    return round((distance - best) / best * 100, 2)


def best_known(path: str | Path, objective: str = "distance") -> dict | None:
    """The published best for the instance and objective, from solomon_best_known.json beside it.

    Its plain key (R101) is the vehicles-first result, ``R101_distance`` the distance-only one.
    """
    table = Path(path).with_name("solomon_best_known.json")
    if not table.exists():
        return None
    name = read(path).name
    key = f"{name}_distance" if objective == "distance" else name
    return json.loads(table.read_text()).get(key)
