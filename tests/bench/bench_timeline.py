"""Benchmark: the infusion timeline at 100,000 active courses on PostgreSQL.

(a) the query listing bags due or overdue in the next N minutes (``bags.due_bags``):
    its time at 10k and at 100k courses, and whether PostgreSQL reads the index;
(b) visit generation for the 72 h horizon over all courses (courses/s).

The reference row is a bare ``SELECT count(*)`` over the bag table at the same size,
the cost a query pays when it has to look at every course.

    .venv/bin/python tests/bench/bench_timeline.py [--courses 100000] [--minutes 60]

Prints its figures last as one JSON line.
"""

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert, text

from opsbackend import migrate
from opsbackend.clock import FixedClock
from opsbackend.db import Database
from opsbackend.domain.infusion import bags, visit_schedule
from opsbackend.models import Bag, Course, Patient, Site
from tests.bench.support import synthetic_course
from tests.databases import create_postgres_database, drop_postgres_database

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
INTERVALS = (24, 48, 72, 96, 168)
CHUNK = 10_000


def load_courses(database: Database, first_id: int, count: int, site_id: int) -> None:
    """Patients with an active course each and bag 1 hanging, due at a random time."""
    rng = random.Random(first_id)
    patients, courses, bag_rows = [], [], []
    for n in range(first_id, first_id + count):
        interval = rng.choice(INTERVALS)
        started = NOW - timedelta(hours=interval) + timedelta(seconds=rng.uniform(0, interval
                                                                                    * 3600))
        stamp = {"created_at": NOW, "updated_at": NOW}
        patient, course = synthetic_course(n, site_id, f"B-{n}", started, interval, stamp)
        patients.append(patient)
        courses.append(course)
        bag_rows.append(stamp | {"course_id": n, "sequence": 1, "hung_at": started,
                                 "due_at": started + timedelta(hours=interval)})
    with database.engine.begin() as connection:
        for table, rows in ((Patient, patients), (Course, courses), (Bag, bag_rows)):
            for start in range(0, len(rows), CHUNK):
                connection.execute(insert(table.__table__), rows[start:start + CHUNK])
        connection.execute(text("ANALYZE"))


def time_due_query(database: Database, minutes: int, runs: int = 30) -> tuple[float, int, str]:
    until = NOW + timedelta(minutes=minutes)
    timings = []
    with database.new_session() as session:
        found = len(bags.due_bags(session, until))  # warm the cache
        for _ in range(runs):
            started = time.perf_counter()
            bags.due_bags(session, until)
            timings.append((time.perf_counter() - started) * 1000)
            session.expunge_all()
        plan = explain_due_query(session, until)
    return statistics.median(timings), found, plan


def explain_due_query(session, until) -> str:
    from sqlalchemy import select

    # The first of due_bags' two queries; the second reads the courses by primary key.
    stmt = select(Bag.id).where(Bag.changed_at.is_(None), Bag.due_at <= until).order_by(
        Bag.due_at
    )
    compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    rows = session.execute(text(f"EXPLAIN {compiled}")).scalars().all()
    return "\n".join(rows)


def time_full_count(database: Database, runs: int = 10) -> float:
    timings = []
    with database.engine.connect() as connection:
        for _ in range(runs):
            started = time.perf_counter()
            connection.execute(text("SELECT count(*) FROM bag WHERE changed_at IS NULL"))
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def time_visit_generation(database: Database) -> tuple[float, int]:
    clock = FixedClock(NOW)
    started = time.perf_counter()
    with database.transaction(actor="bench") as session:
        examined = visit_schedule.generate_visits(session, clock)
    return examined / (time.perf_counter() - started), examined


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--courses", type=int, default=100_000)
    parser.add_argument("--minutes", type=int, default=60, help="the due-soon window")
    args = parser.parse_args()
    small = min(10_000, args.courses)

    url = create_postgres_database("opsbackend_bench_timeline")
    try:
        migrate.upgrade(url)
        database = Database(url, FixedClock(NOW))
        with database.transaction(actor="bench") as session:
            site = Site(code="BENCH", name="Bench", region="West",
                        timezone="America/Los_Angeles")
            session.add(site)
            session.flush()
            site_id = site.id

        load_courses(database, 1, small, site_id)
        small_ms, small_found, _ = time_due_query(database, args.minutes)
        small_count_ms = time_full_count(database)

        load_courses(database, small + 1, args.courses - small, site_id)
        big_ms, big_found, plan = time_due_query(database, args.minutes)
        big_count_ms = time_full_count(database)
        uses_index = "ix_bag_due_open" in plan
        rate, examined = time_visit_generation(database)
        database.dispose()
    finally:
        drop_postgres_database(url)

    print(f"{'courses':>10} {'due in ' + str(args.minutes) + ' min':>14} {'due query ms':>13} "
          f"{'count(*) ms (reference)':>24}")
    print(f"{small:>10} {small_found:>14} {small_ms:>13.2f} {small_count_ms:>24.2f}")
    print(f"{args.courses:>10} {big_found:>14} {big_ms:>13.2f} {big_count_ms:>24.2f}")
    print(f"due query plan reads the partial index ix_bag_due_open: {uses_index}")
    print(plan)
    print(f"visit generation: {examined} courses at {rate:.0f} courses/s")
    print(f"target due query <= 100 ms: {'met' if big_ms <= 100 else 'MISSED'}")
    print(json.dumps({
        "courses": args.courses,
        "due_query_ms": round(big_ms, 2),
        "due_query_ms_at_10k": round(small_ms, 2),
        "due_bags": big_found,
        "due_bags_at_10k": small_found,
        "reference_count_ms": round(big_count_ms, 2),
        "uses_index": uses_index,
        "visit_generation_courses_per_s": round(rate, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
