"""Benchmark: the routing engines side by side on Solomon's VRPTW instances.

The same adapter as ``opsbackend vrptw`` (``opsbackend.routing.solomon``: fleet
and capacity from the file, Euclidean distances in double precision, scaled for
the solver, the same fixed cost per vehicle used) feeds each engine; the distance
reported is recomputed in double precision on the routes found. Like with like,
as bench_dispatch.py: the gap is taken against the best-known result with the
same number of vehicles (vehicles-first or distance-only), else the distance-only
one; the gap against the distance-only result is shown too. The target is a gap
<= 3 % with no more vehicles than the distance-only best known.

    .venv/bin/python tests/bench/bench_routing_engines.py [--seconds 30]
        [--engines ortools,vroom] [--instances C101,C201,R101,RC101]

OR-Tools searches until the time limit; VROOM (exploration level 5, 2 threads)
stops when its search is done, so its seconds are usually far below the limit.
Prints its figures last as one JSON line.
"""

import argparse
import importlib.util
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from opsbackend.routing import engines, solomon

DATA = Path(__file__).parent / "data"
INSTANCES = ("C101", "C201", "R101", "RC101")
TARGET_GAP_PCT = 3.0


def route_distance(instance: solomon.Instance, solution) -> float:
    points = [(c[0], c[1]) for c in instance.customers]
    total = 0.0
    for route in solution.routes:
        path = [0] + [stop.job_id for stop in route.stops] + [0]
        total += sum(math.dist(points[a], points[b])
                     for a, b in zip(path, path[1:], strict=False))
    return total


def gap_pct(distance: float, reference: dict) -> float:
    return round((distance - reference["distance"]) / reference["distance"] * 100, 2)


def run(name: str, engine: str, seconds: float, best: dict) -> dict:
    instance = solomon.read(DATA / f"{name}.txt")
    problem = solomon.to_problem(instance)
    fixed_cost = round(getattr(solomon, "VEHICLE_COST", 0) * solomon.SCALE)
    started = time.perf_counter()
    solution = engines.solve(problem, seconds, vehicle_fixed_cost=fixed_cost, engine=engine)
    elapsed = time.perf_counter() - started
    distance = round(route_distance(instance, solution), 2)
    vehicles = solution.vehicles_used
    distance_only = best[f"{name}_distance"]
    known = next((best[key] for key in (name, f"{name}_distance")
                  if best[key]["vehicles"] == vehicles), distance_only)
    gap = gap_pct(distance, known)
    return {"instance": name, "engine": engine, "vehicles": vehicles, "distance": distance,
            "unassigned": len(solution.unassigned), "bks_vehicles": known["vehicles"],
            "bks_distance": known["distance"], "gap_pct": gap,
            "gap_distance_only_pct": gap_pct(distance, distance_only),
            "seconds": round(elapsed, 2),
            "target_met": not solution.unassigned and gap <= TARGET_GAP_PCT
            and vehicles <= distance_only["vehicles"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="time limit per solve")
    parser.add_argument("--engines", default=",".join(engines.ENGINES))
    parser.add_argument("--instances", default=",".join(INSTANCES))
    args = parser.parse_args()
    wanted = [e for e in args.engines.split(",") if e]
    if "vroom" in wanted and importlib.util.find_spec("vroom") is None:
        print("pyvroom is not installed: skipping the vroom engine")
        wanted.remove("vroom")
    best = json.loads((DATA / "solomon_best_known.json").read_text())
    print(f"{'instance':<9}{'engine':<15}{'vehicles':>9}{'distance':>11}{'gap %':>8}"
          f"{'gap % d-only':>14}{'seconds':>9}  target")
    rows = []
    for name in args.instances.split(","):
        for key, label in ((f"{name}_distance", "bks dist-only"), (name, "bks veh-first")):
            if key == name and best[key] == best[f"{name}_distance"]:
                continue
            print(f"{name:<9}{label:<15}{best[key]['vehicles']:>9}"
                  f"{best[key]['distance']:>11.2f}")
        for engine in wanted:
            row = run(name, engine, args.seconds, best)
            rows.append(row)
            note = "met" if row["target_met"] else "MISSED"
            if row["unassigned"]:
                note += f" ({row['unassigned']} unassigned)"
            print(f"{'':<9}{engine:<15}{row['vehicles']:>9}{row['distance']:>11.2f}"
                  f"{row['gap_pct']:>8.2f}{row['gap_distance_only_pct']:>14.2f}"
                  f"{row['seconds']:>9.2f}  {note}", flush=True)
    summary = {}
    for engine in wanted:
        mine = [r for r in rows if r["engine"] == engine]
        summary[engine] = {"worst_gap_pct": max(r["gap_pct"] for r in mine),
                           "mean_gap_pct": round(sum(r["gap_pct"] for r in mine) / len(mine), 2),
                           "all_targets_met": all(r["target_met"] for r in mine)}
        print(f"{engine}: worst gap {summary[engine]['worst_gap_pct']:.2f} %, mean "
              f"{summary[engine]['mean_gap_pct']:.2f} %, targets "
              f"{'met' if summary[engine]['all_targets_met'] else 'MISSED'}")
    keys = ("instance", "engine", "vehicles", "distance", "bks_vehicles", "bks_distance",
            "gap_pct", "gap_distance_only_pct", "seconds")
    print(json.dumps({"seconds_limit": args.seconds, "engines": summary,
                      "solomon": [{key: row[key] for key in keys} for row in rows]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
