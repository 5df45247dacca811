"""Benchmark: dispatch suggestions.

(a) suggestions for one visit among 1,000 units on PostgreSQL (target <= 100 ms); the
    reference row is the same request among 10 units;
(b) assigning a visit into a unit's day of 12 visits, the ETAs of the others recomputed,
    committed (target p99 <= 50 ms); the reference row is the same assignment into an
    empty day.
The routing engines and day plans have their own benchmark, bench_routing.py.

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

from sqlalchemy import insert, update

from opsbackend.clock import FixedClock
from opsbackend.db import Database
from opsbackend.domain.dispatch import assignment
from opsbackend.domain.registry import sites
from opsbackend.domain.scope import Scope
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


def new_sites(database, *codes) -> list[int]:
    with database.transaction(actor="bench") as session:
        return [sites.create_site(session, dict(code=code, name=f"Site {code}", region="West",
                                                timezone="America/Los_Angeles")).id
                for code in codes]


def visit(database, site_id, start=NOW + timedelta(hours=3), point=(34.3, -118.3),
          minutes=45) -> int:
    with database.transaction(actor="bench") as session:
        patient = Patient(site_id=site_id, study_code=f"P{time.time_ns()}", age_months=60,
                          weight_kg=20)
        session.add(patient)
        session.flush()
        session.add(Home(patient_id=patient.id, address_line1="1 A St", city="LA",
                         postal_code="90001", lat=point[0], lon=point[1],
                         geocode_status="manual"))
        v = Visit(patient_id=patient.id, kind="bag_change", window_start=start,
                  window_end=start + timedelta(hours=2), required_skills=["pediatric"],
                  service_minutes=minutes, dedupe_key=f"bench:{patient.id}")
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
        small, large = new_sites(database, "S", "L")
        load_units(database, small, 10, 1)
        load_units(database, large, units, 100)
        reference = time_suggestions(database, visit(database, small))
        measured = time_suggestions(database, visit(database, large))
        database.dispose()
    return measured, reference


def time_assignments(database, site_id, unit_id, stops: int, runs: int) -> list[float]:
    """Assign a visit into the unit's day of ``stops`` visits (07:00-19:00 local), then take
    it off again (unmeasured), ``runs`` times; milliseconds per committed assignment."""
    travel, clock, everything = GeodesicEstimator(), FixedClock(NOW), Scope.everything()
    for n in range(stops):  # 07:00 onwards, 50 minutes apart, homes a few km from the base
        stop = visit(database, site_id, NOW + timedelta(minutes=50 * n),
                     (34.0 + 0.01 * (n % 4), -118.0 - 0.01 * (n // 4)), minutes=30)
        with database.transaction(actor="bench") as session:
            assignment.assign(session, clock, everything, stop, unit_id, travel)
    candidate = visit(database, site_id, NOW + timedelta(hours=5), (34.02, -118.02),
                      minutes=30)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        with database.transaction(actor="bench") as session:
            assignment.assign(session, clock, everything, candidate, unit_id, travel)
        timings.append((time.perf_counter() - started) * 1000)
        with database.transaction(actor="bench") as session:
            assignment.unassign(session, clock, everything, candidate, travel)
    return timings


def time_bare_updates(database, visit_id: int, runs: int) -> list[float]:
    """The plainest committed write: one UPDATE of the visit's ETA in SQL core."""
    timings = []
    for n in range(runs):
        started = time.perf_counter()
        with database.engine.begin() as connection:
            connection.execute(update(Visit.__table__).where(Visit.__table__.c.id == visit_id)
                               .values(eta=NOW + timedelta(minutes=n % 60)))
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def assignment_benchmark(runs: int) -> tuple[list[float], list[float], list[float]]:
    with fresh_database("opsbackend_bench_assign") as url:
        database = Database(url, FixedClock(NOW))
        busy, idle = new_sites(database, "B", "I")
        load_units(database, busy, 1, 1)
        load_units(database, idle, 1, 2)
        full = time_assignments(database, busy, 1, 12, runs)
        empty = time_assignments(database, idle, 2, 0, runs)
        bare = time_bare_updates(database, 1, runs)
        database.dispose()
    return full, empty, bare


def p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100)[98]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--assignments", type=int, default=200)
    args = parser.parse_args()
    suggest_ms, reference_ms = suggestions_benchmark(args.units)
    print(f"suggestions for one visit: {suggest_ms:.1f} ms among {args.units} units, "
          f"{reference_ms:.1f} ms among 10 (reference); target <= 100 ms: "
          f"{'met' if suggest_ms <= 100 else 'MISSED'}")
    full, empty, bare = assignment_benchmark(args.assignments)
    print(f"assigning into a day of 12 visits (ETAs recomputed, committed): p50 "
          f"{statistics.median(full):.1f} ms, p99 {p99(full):.1f} ms; into an empty day "
          f"(reference): p50 {statistics.median(empty):.1f} ms, p99 {p99(empty):.1f} ms; "
          f"one bare committed UPDATE: p50 {statistics.median(bare):.1f} ms, p99 "
          f"{p99(bare):.1f} ms; target p99 <= 50 ms: {'met' if p99(full) <= 50 else 'MISSED'}")
    last_line({"suggest_ms_1000_units": round(suggest_ms, 1),
               "suggest_ms_10_units_reference": round(reference_ms, 1),
               "assign_ms_12_stops": round(p99(full), 1),
               "assign_ms_12_stops_p50": round(statistics.median(full), 1),
               "assign_ms_empty_day_reference": round(p99(empty), 1),
               "bare_update_ms_p99": round(p99(bare), 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
