"""Schemathesis against the live app: ``python -m tests.fuzz [--examples N] [--db postgres]``.

Builds a fresh database (PostgreSQL by default; dropped afterwards), migrates it, loads the
demo data (so ids in paths find records), issues an admin token, serves the app with
``opsbackend serve`` on a free port and runs ``st run`` on its /api/v1/openapi.json.
The last line printed is JSON: operations, cases, server_errors, schema_violations,
failures by check, seconds. Exit status 0 only when schemathesis found nothing.

``make test`` runs a short, seeded pass (tests/test_schemathesis.py); ``make fuzz`` a long one.

Checks: all of schemathesis' except
- positive_data_acceptance: a schema-valid request may still break a business rule (an
  unknown patient id, a visit outside the course) and get a 404/409/422: not a defect;
- use_after_free / ensure_resource_availability: deleting here means cancelling or
  archiving, and the record stays readable on purpose;
- ignored_auth is kept; the token-revocation route is excluded (it would revoke the
  run's own token).
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests import databases

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXCLUDED_CHECKS = ("positive_data_acceptance", "use_after_free", "ensure_resource_availability")
# POST /tokens/{id}/revoke would revoke the run's own token; DELETE likewise.
EXCLUDED_PATHS = r"^/api/v1/tokens/\{token_id\}"
SCHEMA_CHECKS = ("response_schema_conformance", "status_code_conformance",
                 "content_type_conformance", "response_headers_conformance")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(backend: str, workdir: Path) -> str:
    if backend == "postgres":
        return databases.create_postgres_database("opsbackend_fuzz")
    return f"sqlite:///{workdir / 'fuzz.db'}"


def run_cli(env: dict, *args: str) -> str:
    done = subprocess.run([str(BIN / "opsbackend"), *args], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout


def admin_token(env: dict) -> str:
    out = run_cli(env, "create-token", "--role", "admin", "--name", "schemathesis")
    return json.loads(out.strip().splitlines()[-1])["token"]


def wait_until_serving(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError("the server never became ready")


def schemathesis_command(port: int, token: str, args, report: Path) -> list[str]:
    command = [
        str(BIN / "st"), "--config-file", str(CONFIG), "run",
        f"http://127.0.0.1:{port}/api/v1/openapi.json",
        "--checks", "all", "--exclude-checks", ",".join(EXCLUDED_CHECKS),
        "--exclude-path-regex", EXCLUDED_PATHS,
        "-H", f"Authorization: Bearer {token}",
        "--max-examples", str(args.examples), "--seed", str(args.seed),
        "--workers", str(args.workers), "--phases", args.phases,
        "--suppress-health-check", "all", "--no-shrink",
        "--request-timeout", "60",
        "--report", "ndjson", "--report-ndjson-path", str(report),
    ]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    return command


def summarise(report: Path, seconds: float) -> dict:
    """Counts from schemathesis' NDJSON event stream."""
    operations, cases, by_check = set(), 0, {}
    for line in report.read_text().splitlines():
        event = json.loads(line)
        for kind, body in event.items():
            if kind == "ScenarioFinished":
                recorder = body.get("recorder", {})
                label = recorder.get("label")
                if label:
                    operations.add(label)
                cases += len(recorder.get("cases", {}))
                for checks in recorder.get("checks", {}).values():
                    for check in checks:
                        if str(check.get("status")).lower() == "failure":
                            by_check[check["name"]] = by_check.get(check["name"], 0) + 1
    return {
        "operations": len(operations),
        "cases": cases,
        "server_errors": by_check.get("not_a_server_error", 0),
        "schema_violations": sum(by_check.get(name, 0) for name in SCHEMA_CHECKS),
        "failures_by_check": by_check,
        "seconds": round(seconds, 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--phases", default="examples,fuzzing,stateful")
    parser.add_argument("--max-time", type=int, default=0)
    args = parser.parse_args(argv)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="opsbackend-fuzz-") as tmp:
        workdir = Path(tmp)
        url = prepare_database(args.db, workdir)
        port = free_port()
        env = os.environ | {
            "DATABASE_URL": url, "PORT": str(port), "WEB_CONCURRENCY": "2",
            "SECRET_KEY": "schemathesis-secret-key-0123456789abcdef",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"), "LOG_LEVEL": "WARNING",
        }
        (workdir / "metrics").mkdir()
        server = None
        try:
            run_cli(env, "db", "upgrade")
            run_cli(env, "seed-demo")
            token = admin_token(env)
            log = (workdir / "server.log").open("w")
            server = subprocess.Popen([str(BIN / "opsbackend"), "serve"], env=env, cwd=workdir,
                                      stdout=log, stderr=subprocess.STDOUT)
            wait_until_serving(port, server)
            report = workdir / "events.ndjson"
            command = schemathesis_command(port, token, args, report)
            done = subprocess.run(command, cwd=workdir, env=env | {"NO_COLOR": "1"})
            summary = summarise(report, time.monotonic() - started)
        finally:
            if server is not None:
                server.terminate()
                server.wait(30)
                tracebacks = re.findall(r"Traceback.*?(?=\n\S|\Z)",
                                        (workdir / "server.log").read_text(), re.S)
                if tracebacks:
                    print("server tracebacks:", *tracebacks[:5], sep="\n")
            if args.db == "postgres":
                databases.drop_postgres_database(url)
    print(json.dumps(summary))
    found = summary["server_errors"] or summary["schema_violations"] or done.returncode
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
