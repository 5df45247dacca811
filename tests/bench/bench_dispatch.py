"""Benchmark: dispatch suggestions.

Suggestions for one visit among 1,000 units on PostgreSQL (target <= 100 ms); the
reference row is the same request among 10 units. The routing engines and day plans
have their own benchmark, bench_routing.py.

    .venv/bin/python tests/bench/bench_dispatch.py [--units 1000]

Prints its figures last as one JSON line.
"""

import argparse
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
from opsbackend.models import Home, Patient, Unit, UnitShift, Visit
from opsbackend.routing.travel import GeodesicEstimator
from tests.bench.support import fresh_database, last_line

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
            judged = assignment.suggestions(session, FixedClock(NOW), visit_id, travel)
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
    parser.add_argument("--units", type=int, default=1000)
    args = parser.parse_args()
    suggest_ms, reference_ms = suggestions_benchmark(args.units)
    print(f"suggestions for one visit: {suggest_ms:.1f} ms among {args.units} units, "
          f"{reference_ms:.1f} ms among 10 (reference); target <= 100 ms: "
          f"{'met' if suggest_ms <= 100 else 'MISSED'}")
    last_line({"suggest_ms_1000_units": round(suggest_ms, 1),
               "suggest_ms_10_units_reference": round(reference_ms, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
