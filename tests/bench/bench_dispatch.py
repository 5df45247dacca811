"""Benchmark: dispatch.

(a) suggestions for one visit among 1,000 units on PostgreSQL (target <= 100 ms); the
    reference row is the same request among 10 units;
(b) the routing core on Solomon's VRPTW instances shipped in tests/bench/data, against
    the best-known distance-only results (target <= 3 % gap with the same vehicles).

    .venv/bin/python tests/bench/bench_dispatch.py [--seconds 30] [--units 1000]

Prints its figures last as one JSON line.
"""

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert

from opsbackend.clock import FixedClock
from opsbackend.db import Database
from opsbackend.domain.dispatch import assignment
from opsbackend.domain.registry import sites
from opsbackend.domain.scope import Scope
from opsbackend.models import Home, Patient, Unit, UnitShift, Visit
from opsbackend.routing.solomon import solve_file
from opsbackend.routing.travel import GeodesicEstimator
from tests.bench.support import fresh_database, last_line

DATA = Path(__file__).parent / "data"
INSTANCES = ("C101", "C201", "R101", "RC101")
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def load_units(database, site_id, count, first_id):
    stamp = {"created_at": NOW, "updated_at": NOW}
    units = [stamp | {"id": first_id + n, "call_sign": f"U{first_id + n}", "site_id": site_id,
                      "base_lat": 34 + (n % 40) / 50, "base_lon": -118 - (n // 40) / 50,
                      "skills": ["pediatric", "infant"] if n % 3 else ["pediatric"],
                      "status": "available"} for n in range(count)]
    shifts = [stamp | {"unit_id": u["id"], "weekday": d, "starts_at": clock_time(7),
                       "ends_at": clock_time(19)} for u in units for d in range(7)]
    with database.engine.begin() as connection:
        connection.execute(insert(Unit.__table__), units)
        connection.execute(insert(UnitShift.__table__), shifts)


def visit(database, site_id) -> int:
    with database.transaction(actor="bench") as session:
        patient = Patient(site_id=site_id, study_code=f"P{time.time_ns()}", age_months=60,
                          weight_kg=20)
        session.add(patient)
        session.flush()
        session.add(Home(patient_id=patient.id, address_line1="1 A St", city="LA",
                         postal_code="90001", lat=34.3, lon=-118.3, geocode_status="manual"))
        start = NOW + timedelta(hours=3)
        v = Visit(patient_id=patient.id, kind="bag_change", window_start=start,
                  window_end=start + timedelta(hours=2), required_skills=["pediatric"],
                  dedupe_key=f"bench:{patient.id}")
        session.add(v)
        session.flush()
        return v.id


def time_suggestions(database, visit_id, runs=15) -> float:
    travel = GeodesicEstimator()
    timings = []
    for _ in range(runs):
        with database.new_session() as session:
            started = time.perf_counter()
            judged = assignment.suggestions(session, FixedClock(NOW), Scope.everything(), visit_id,
                                               travel)
            timings.append((time.perf_counter() - started) * 1000)
    assert judged
    return statistics.median(timings[2:])


def suggestions_benchmark(units: int) -> tuple[float, float]:
    with fresh_database("opsbackend_bench_dispatch") as url:
        database = Database(url, FixedClock(NOW))
        with database.transaction(actor="bench") as session:
            small = sites.create_site(session, dict(code="S", name="Small", region="West",
                                                    timezone="America/Los_Angeles")).id
            large = sites.create_site(session, dict(code="L", name="Large", region="West",
                                                    timezone="America/Los_Angeles")).id
        load_units(database, small, 10, 1)
        load_units(database, large, units, 100)
        reference = time_suggestions(database, visit(database, small))
        measured = time_suggestions(database, visit(database, large))
        database.dispose()
    return measured, reference


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--units", type=int, default=1000)
    args = parser.parse_args()
    best = json.loads((DATA / "solomon_best_known.json").read_text())
    suggest_ms, reference_ms = suggestions_benchmark(args.units)
    print(f"suggestions for one visit: {suggest_ms:.1f} ms among {args.units} units, "
          f"{reference_ms:.1f} ms among 10 (reference); target <= 100 ms: "
          f"{'met' if suggest_ms <= 100 else 'MISSED'}")
    rows = []
    print(f"{'instance':<9}{'vehicles':>9}{'distance':>11}{'bks veh':>9}{'bks dist':>10}"
          f"{'gap %':>8}{'seconds':>9}")
    for name in INSTANCES:
        result = solve_file(DATA / f"{name}.txt", args.seconds)
        # Compare like with like: the best known result with our number of vehicles
        # (vehicles-first or distance-only), else the distance-only one.
        known = next((best[key] for key in (name, f"{name}_distance")
                      if best[key]["vehicles"] == result["vehicles"]), best[f"{name}_distance"])
        gap = (result["distance"] - known["distance"]) / known["distance"] * 100
        rows.append({"instance": name, "vehicles": result["vehicles"],
                     "distance": result["distance"], "bks_vehicles": known["vehicles"],
                     "bks_distance": known["distance"], "gap_pct": round(gap, 2)})
        print(f"{name:<9}{result['vehicles']:>9}{result['distance']:>11}"
              f"{known['vehicles']:>9}{known['distance']:>10}{gap:>8.2f}"
              f"{result['seconds']:>9}")
    worst = max(r["gap_pct"] for r in rows)
    print(f"worst gap {worst:.2f} % (target <= 3 %): {'met' if worst <= 3 else 'MISSED'}")
    last_line({"suggest_ms_1000_units": round(suggest_ms, 1),
               "suggest_ms_10_units_reference": round(reference_ms, 1), "solomon": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
