"""Benchmark: the dispatcher board at one site with 500 active courses, 40 units and 200
open visits (50 of them booked), 30 open alerts, on PostgreSQL.

Times, server-side (the Flask app in this process, a signed-in dispatcher's requests
through the test client): the full page (GET /board) and the partial refresh the page
polls (GET /board/now), and counts the SQL statements of one refresh (bounded: no query
per row). The reference row is the API's first page of visits (GET /api/v1/visits, 50 rows)
for a dispatcher token in the same run.

    .venv/bin/python tests/bench/bench_board.py [--runs 60]

Prints its figures last as one JSON line. Targets: board_ms_p99 <= 300, refresh_ms_p99 <= 100.
"""

import argparse
import gc
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import event, insert, text

from opsbackend.app import create_app
from opsbackend.clock import FixedClock
from opsbackend.config import Settings
from opsbackend.domain.registry import sites, tokens, users
from opsbackend.models import Alert, Bag, Course, Home, Patient, Unit, UnitShift, Visit
from tests.bench.support import fresh_database, last_line, synthetic_course

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
COURSES, UNITS, VISITS, BOOKED, ALERTS = 500, 40, 200, 50, 30
PASSWORD = "benchmark password 123"


def load(database, site_id: int) -> None:
    rng = random.Random(7)
    stamp = {"created_at": NOW, "updated_at": NOW}
    patients, courses, bags, homes, visits, alerts = [], [], [], [], [], []
    for n in range(1, COURSES + 1):
        started = NOW - timedelta(hours=rng.uniform(0, 47))
        patient, course = synthetic_course(n, site_id, f"B-{n:04d}", started, 48, stamp)
        patients.append(patient)
        courses.append(course)
        bags.append(stamp | {"id": n, "course_id": n, "sequence": 1, "hung_at": started,
                             "due_at": started + timedelta(hours=48)})
        homes.append(stamp | {"patient_id": n, "address_line1": f"{n} A St", "city": "LA",
                              "postal_code": "90001", "lat": 34 + rng.uniform(-.3, .3),
                              "lon": -118.3 + rng.uniform(-.3, .3), "geocode_status": "manual"})
    units = [stamp | {"id": u, "call_sign": f"U{u:02d}", "site_id": site_id,
                      "base_lat": 34 + u / 100, "base_lon": -118.3, "skills": ["pediatric"],
                      "status": "available"} for u in range(1, UNITS + 1)]
    shifts = [stamp | {"unit_id": u["id"], "weekday": d, "starts_at": clock_time(7),
                       "ends_at": clock_time(19)} for u in units for d in range(7)]
    soonest = sorted(bags, key=lambda bag: bag["due_at"])[:VISITS]
    for number, bag in enumerate(soonest):
        booked = number < BOOKED
        visits.append(stamp | {
            "patient_id": bag["course_id"], "course_id": bag["course_id"], "bag_id": bag["id"],
            "kind": "bag_change", "status": "assigned" if booked else "unassigned",
            "unit_id": 1 + number % UNITS if booked else None,
            "window_start": bag["due_at"] - timedelta(hours=2), "window_end": bag["due_at"],
            "service_minutes": 45, "required_skills": ["pediatric"],
            "dedupe_key": f"bench:{bag['id']}"})
    for number, bag in enumerate(soonest[:ALERTS]):
        alerts.append(stamp | {"kind": "missed_bag_change", "dedupe_key": f"bench:{number}",
                               "status": "open", "severity": "high", "site_id": site_id,
                               "patient_id": bag["course_id"], "bag_id": bag["id"],
                               "summary": "bag not changed", "raised_at": NOW,
                               "escalation_step": 1})
    with database.engine.begin() as connection:
        for table, rows in ((Patient, patients), (Home, homes), (Course, courses), (Bag, bags),
                            (Unit, units), (UnitShift, shifts), (Visit, visits),
                            (Alert, alerts)):
            connection.execute(insert(table.__table__), rows)
        for table in ("patient", "course", "bag", "unit", "visit"):
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"))
        connection.execute(text("ANALYZE"))


def timed(client, path: str, runs: int, headers=None) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=headers or {})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return timings


def p(timings: list[float], q: int) -> float:
    return round(statistics.quantiles(timings, n=100)[q - 1], 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    with fresh_database("opsbackend_bench_board") as url:
        app = create_app(Settings(environment="test", database_url=url,
                                  secret_key="bench-secret-key-that-is-long-enough-0123"),
                         clock=FixedClock(NOW))
        database = app.extensions["database"]
        with database.transaction(actor="bench") as session:
            site_id = sites.create_site(session, dict(
                code="BENCH", name="Bench", region="West", timezone="America/Los_Angeles")).id
        load(database, site_id)
        with database.transaction(actor="bench") as session:
            users.create_user(session, email="bench@example.org", role="dispatcher",
                              password=PASSWORD, site_ids=[site_id])
            _record, raw = tokens.issue_token(session, name="bench", role="dispatcher")
        client = app.test_client()
        page = client.get("/board/sign-in").get_data(as_text=True)
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/board/sign-in", data={"email": "bench@example.org",
                                            "password": PASSWORD, "csrf_token": csrf})
        shown = client.get("/board").get_data(as_text=True)
        rows = shown.count("data-bag=")
        timed(client, "/board/now", 5)  # warm up
        # As a served worker does (opsbackend.server.worker_app): the start-up objects frozen
        # out of the garbage collector, or each full collection walks them (~190 ms).
        gc.collect()
        gc.freeze()
        statements = []

        def count(*_args, **_kwargs):
            statements.append(1)

        event.listen(database.engine, "before_cursor_execute", count)
        client.get("/board/now")
        event.remove(database.engine, "before_cursor_execute", count)
        queries = len(statements)
        board = timed(client, "/board", args.runs)
        refresh = timed(client, "/board/now", args.runs)
        reference = timed(client, "/api/v1/visits?page_size=50", args.runs,
                          {"Authorization": f"Bearer {raw}"})
        database.dispose()
    print(f"board rows shown: {rows} bag changes, {ALERTS} alerts, {UNITS} units")
    last_line({"board_ms_p50": p(board, 50), "board_ms_p99": p(board, 99),
               "refresh_ms_p50": p(refresh, 50), "refresh_ms_p99": p(refresh, 99),
               "queries_per_refresh": queries,
               "reference_api_visits_ms_p99": p(reference, 99)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
