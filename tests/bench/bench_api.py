"""Benchmark: authenticated patient reads and writes under gunicorn on PostgreSQL,
beside a bare one-INSERT Flask endpoint (the reference) in the same run.

    .venv/bin/python tests/bench/bench_api.py [--requests 3000] [--rounds 3] [--concurrency 16]

Target (issue 12): writes >= 0.5 x the same writes done in SQL core (``bare_app``'s
``/bare/patient``: what the stack adds to the database work). The first target, 0.4 x the
bare insert, is out of reach for three rows and their audit (README, "Performance"). The
rows take turns for a few rounds and the medians are reported (this machine's speed
drifts within minutes). Prints its figures last as one JSON line.
"""

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import text

from tests.bench.support import (
    OURS_WORKERS,
    REFERENCE_WORKERS,
    alternate,
    compare,
    drive,
    free_port,
    fresh_database,
    gunicorn_app,
    last_line,
    print_table,
    server,
)


def seed(url: str) -> tuple[int, str]:
    from opsbackend.db import Database
    from opsbackend.domain.registry import sites, tokens

    database = Database(url)
    with database.transaction(actor="bench") as session:
        site = sites.create_site(session, dict(code="B", name="Bench", region="West",
                                               timezone="America/Los_Angeles"))
        # A dispatcher of this site, as real ones are (the scope is read on every request).
        _record, raw = tokens.issue_token(session, name="bench", role="dispatcher",
                                          site_ids=[site.id])
        site_id = site.id
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE bare_event (id serial PRIMARY KEY, body text, "
                                "created_at timestamptz DEFAULT now())"))
    database.dispose()
    return site_id, raw


def patient(site_id: int, n: int) -> bytes:
    return json.dumps({
        "site_id": site_id, "study_code": f"B-{n:06d}", "date_of_birth": "2019-05-04",
        "weight_kg": 18.5,
        "home": {"address_line1": f"{n} Main St", "city": "Pasadena", "postal_code": "91101",
                 "lat": 34.1, "lon": -118.1},
        "contacts": [{"name": "Grace", "relationship": "mother", "phone": "+12135550100",
                      "language": "en"}],
    }).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per round and row")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=OURS_WORKERS,
                        help="opsbackend serve's workers (default: one per core)")
    args = parser.parse_args()
    with fresh_database("opsbackend_bench_api") as url:
        site_id, token = seed(url)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        json_body = {"Content-Type": "application/json"}
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        port, bare_port = free_port(), free_port()
        env = {"DATABASE_URL": url, "PORT": str(port), "WEB_CONCURRENCY": str(args.workers),
               "LOG_LEVEL": "WARNING"}
        numbers = itertools.count()

        def patients(to_port, path, headers, expect):
            def run():  # new study codes each round
                return drive(to_port, [("POST", path, patient(site_id, next(numbers)), headers,
                                        expect) for _ in range(args.requests)], args.concurrency)
            return run

        with (server([str(Path(sys.executable).parent / "opsbackend"), "serve"], env, port),
              server(gunicorn_app("tests.bench.bare_app:app", bare_port, REFERENCE_WORKERS),
                     {"DATABASE_URL": url}, bare_port)):
            rounds = alternate(args.rounds, {
                "write": patients(port, "/api/v1/patients", auth, 201),
                "same_work_core": patients(bare_port, "/bare/patient", json_body, 201),
                "bare": lambda: drive(bare_port, [("POST", "/bare", b"Body=ARRIVED", form, 204)]
                                      * args.requests, args.concurrency),
            })
            reads = [("GET", f"/api/v1/patients/{1 + n % args.requests}", None, auth, 200)
                     for n in range(args.requests)]
            read = drive(port, reads, args.concurrency)
    compared = compare(rounds, "write")
    write, same_work, bare = compared.ours, compared.same_work, compared.bare
    print(f"median of {args.rounds} alternating rounds:")
    print_table({"POST /patients (ours)": write, "GET /patients/{id} (ours)": read,
                 "same writes, SQL core": same_work, "bare one-INSERT (reference)": bare})
    print(f"against the same writes in SQL core: {compared.same_work_ratio:.2f} (issue 12's "
          f"target >= 0.5: {'met' if compared.same_work_ratio >= 0.5 else 'MISSED'})")
    # The first target, 0.4 of one bare INSERT, is out of reach for three rows and their
    # audit events however they are written (README, "Performance"): shown, not judged.
    print(f"against the bare one-INSERT: {compared.ratio:.2f}; rounds {compared.ratios}")
    last_line({"write_rps": write["rps"], "read_rps": read["rps"], "bare_rps": bare["rps"],
               "write_ratio": round(compared.ratio, 3), "read_p99_ms": read["p99_ms"],
               "write_p99_ms": write["p99_ms"], "same_work_core_rps": same_work["rps"],
               "write_ratio_to_same_work_core": round(compared.same_work_ratio, 3)})
    failed = write["failures"] + read["failures"] + same_work["failures"] + bare["failures"]
    if failed:
        first = (write["first_failure"] or read["first_failure"] or same_work["first_failure"]
                 or bare["first_failure"])
        print(f"failures: {first}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
