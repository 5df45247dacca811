"""Benchmark: the routing engines side by side on Solomon's VRPTW instances.

The same adapter as ``opsbackend vrptw`` (``opsbackend.routing.solomon``: fleet
and capacity from the file, Euclidean distances in double precision, scaled for
the solver) feeds each engine; the distance reported is recomputed in double
precision on the routes found and compared with the best-known distance-only
result (``<name>_distance`` in solomon_best_known.json; the reference row of each
instance). The target is a gap <= 3 % with the best-known number of vehicles (or
fewer: a fleet that does the day with fewer units is not a miss).

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


def run(name: str, engine: str, seconds: float, known: dict) -> dict:
    instance = solomon.read(DATA / f"{name}.txt")
    problem = solomon.to_problem(instance)
    started = time.perf_counter()
    solution = engines.solve(problem, seconds, engine=engine)
    elapsed = time.perf_counter() - started
    distance = round(route_distance(instance, solution), 2)
    gap = (distance - known["distance"]) / known["distance"] * 100
    return {"instance": name, "engine": engine, "vehicles": solution.vehicles_used,
            "distance": distance, "unassigned": len(solution.unassigned),
            "bks_vehicles": known["vehicles"], "bks_distance": known["distance"],
            "gap_pct": round(gap, 2), "seconds": round(elapsed, 2),
            "target_met": not solution.unassigned and gap <= TARGET_GAP_PCT
            and solution.vehicles_used <= known["vehicles"]}


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
    print(f"{'instance':<9}{'engine':<10}{'vehicles':>9}{'distance':>11}{'gap %':>8}"
          f"{'seconds':>9}  target (<= {TARGET_GAP_PCT:g} %, vehicles <= bks)")
    rows = []
    for name in args.instances.split(","):
        known = best[f"{name}_distance"]
        print(f"{name:<9}{'reference':<10}{known['vehicles']:>9}{known['distance']:>11.2f}"
              f"{0:>8.2f}{'':>9}  best known, distance only")
        for engine in wanted:
            row = run(name, engine, args.seconds, known)
            rows.append(row)
            note = "met" if row["target_met"] else "MISSED"
            if row["unassigned"]:
                note += f" ({row['unassigned']} unassigned)"
            print(f"{'':<9}{engine:<10}{row['vehicles']:>9}{row['distance']:>11.2f}"
                  f"{row['gap_pct']:>8.2f}{row['seconds']:>9.2f}  {note}", flush=True)
    summary = {}
    for engine in wanted:
        mine = [r for r in rows if r["engine"] == engine]
        summary[engine] = {"worst_gap_pct": max(r["gap_pct"] for r in mine),
                           "mean_gap_pct": round(sum(r["gap_pct"] for r in mine) / len(mine), 2),
                           "all_targets_met": all(r["target_met"] for r in mine)}
        print(f"{engine}: worst gap {summary[engine]['worst_gap_pct']:.2f} %, mean "
              f"{summary[engine]['mean_gap_pct']:.2f} %, targets "
              f"{'met' if summary[engine]['all_targets_met'] else 'MISSED'}")
    print(json.dumps({"seconds_limit": args.seconds, "engines": summary, "solomon": [
        {key: row[key] for key in ("instance", "engine", "vehicles", "distance",
                                   "bks_vehicles", "bks_distance", "gap_pct", "seconds")}
        for row in rows]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
