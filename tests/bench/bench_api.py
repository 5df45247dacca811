"""Benchmark: authenticated patient reads and writes under gunicorn on PostgreSQL,
beside a bare one-INSERT Flask endpoint (the reference) in the same run.

    .venv/bin/python tests/bench/bench_api.py [--requests 3000] [--concurrency 16]

Target: write_rps >= 0.4 x bare_rps. Prints its figures last as one JSON line.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import text

from tests.bench.support import (
    drive,
    free_port,
    fresh_database,
    gunicorn_app,
    last_line,
    print_table,
    server,
)

WORKERS = 4


def seed(url: str) -> tuple[int, str]:
    from opsbackend.db import Database
    from opsbackend.domain import sites, tokens

    database = Database(url)
    with database.transaction(actor="bench") as session:
        site = sites.create_site(session, dict(code="B", name="Bench", region="West",
                                               timezone="America/Los_Angeles"))
        _record, raw = tokens.issue_token(session, name="bench", role="dispatcher")
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
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with fresh_database("opsbackend_bench_api") as url:
        site_id, token = seed(url)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        port = free_port()
        env = {"DATABASE_URL": url, "PORT": str(port), "WEB_CONCURRENCY": str(WORKERS),
               "LOG_LEVEL": "WARNING"}
        with server([str(Path(sys.executable).parent / "opsbackend"), "serve"], env, port):
            writes = [("POST", "/api/v1/patients", patient(site_id, n), auth, 201)
                      for n in range(args.requests)]
            write = drive(port, writes, args.concurrency)
            reads = [("GET", f"/api/v1/patients/{1 + n % args.requests}", None, auth, 200)
                     for n in range(args.requests)]
            read = drive(port, reads, args.concurrency)
        bare_port = free_port()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        with server(gunicorn_app("tests.bench.bare_app:app", bare_port, WORKERS),
                    {"DATABASE_URL": url}, bare_port):
            bare = drive(bare_port, [("POST", "/bare", b"Body=ARRIVED", form, 204)] *
                         args.requests, args.concurrency)
    print_table({"POST /patients (ours)": write, "GET /patients/{id} (ours)": read,
                 "bare one-INSERT (reference)": bare})
    ratio = write["rps"] / bare["rps"]
    print(f"write ratio {ratio:.2f} (target >= 0.4): {'met' if ratio >= 0.4 else 'MISSED'}")
    last_line({"write_rps": write["rps"], "read_rps": read["rps"], "bare_rps": bare["rps"],
               "write_ratio": round(ratio, 3), "read_p99_ms": read["p99_ms"],
               "write_p99_ms": write["p99_ms"]})
    failed = write["failures"] + read["failures"] + bare["failures"]
    if failed:
        first = write['first_failure'] or read['first_failure'] or bare['first_failure']
        print(f"failures: {first}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
