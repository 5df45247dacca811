"""Solomon's VRPTW instances through the routing engine the day plans use.

Distances are Euclidean in double precision; the solver works on them scaled
by SCALE and rounded, and the reported distance is recomputed in double
precision on the routes found, rounded to 2 decimals, as the published values.
"""

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


def read(path: str | Path) -> Instance:
    lines = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    name = lines[0][0]
    vehicle_row = next(i for i, row in enumerate(lines) if row[0] == "NUMBER") + 1
    number, capacity = int(lines[vehicle_row][0]), int(lines[vehicle_row][1])
    customers = [
        (float(r[1]), float(r[2]), int(float(r[3])), int(float(r[4])), int(float(r[5])),
         int(float(r[6])))
        for r in lines[vehicle_row + 1:]
        if r[0].isdigit() and len(r) >= 7
    ]
    return Instance(name, number, capacity, customers)


def to_problem(instance: Instance) -> Problem:
    points = [(c[0], c[1]) for c in instance.customers]
    distance = [[round(math.dist(a, b) * SCALE) for b in points] for a in points]
    depot = instance.customers[0]
    vehicles = [Vehicle(n, 0, 0, depot[3] * SCALE, depot[4] * SCALE,
                        capacity=instance.capacity) for n in range(instance.vehicles)]
    jobs = [Job(n, n, c[3] * SCALE, c[4] * SCALE, c[5] * SCALE, demand=c[2])
            for n, c in enumerate(instance.customers) if n > 0]
    return Problem(vehicles, jobs, travel=distance, horizon=depot[4] * SCALE)


# A fixed cost per vehicle used, in distance units: a route must save this much to be
# worth a vehicle, so the search does not spread over the whole fleet.
VEHICLE_COST = 50


def solve_file(path: str | Path, seconds: float, vehicle_cost: float = VEHICLE_COST,
               engine: str = engines.DEFAULT_ENGINE) -> dict:
    instance = read(path)
    started = time.perf_counter()
    solution = engines.solve(to_problem(instance), seconds,
                             vehicle_fixed_cost=round(vehicle_cost * SCALE), engine=engine)
    elapsed = time.perf_counter() - started
    points = [(c[0], c[1]) for c in instance.customers]
    total = 0.0
    for route in solution.routes:
        if route.stops:
            path_nodes = [0] + [stop.job_id for stop in route.stops] + [0]
            total += sum(math.dist(points[a], points[b])
                         for a, b in zip(path_nodes, path_nodes[1:], strict=False))
    return {"instance": instance.name, "vehicles": solution.vehicles_used,
            "distance": round(total, 2), "seconds": round(elapsed, 2),
            "unassigned": len(solution.unassigned)}
