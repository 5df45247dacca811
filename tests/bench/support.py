"""What the benchmarks share: a fresh PostgreSQL database, a server in a subprocess,
and a load generator of several client processes on keep-alive connections."""

import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent

CORES = os.cpu_count() or 1
# Each server as it is best run on this machine. ``opsbackend serve``: one gthread worker
# per core, its threads overlapping the database waits (gunicorn.conf.py); more processes
# only take turns on the cores. The references are sync workers, which overlap nothing
# within a process: two per core.
OURS_WORKERS = CORES
REFERENCE_WORKERS = 2 * CORES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def fresh_database(prefix: str):
    from opsbackend import migrate
    from tests.databases import create_postgres_database, drop_postgres_database

    url = create_postgres_database(prefix)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        drop_postgres_database(url)


@contextmanager
def server(command: list[str], env: dict, port: int, ready_path: str = "/readyz"):
    # The server's log goes to a file: a pipe nobody reads fills up and blocks the
    # workers at their first long traceback.
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, env=os.environ | env, cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=log, text=True)
        try:
            _wait_until_ready(process, log, port, ready_path)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            errors = _tail(log)
            if "Traceback" in errors:
                print(f"the server {command[-1]} logged errors; the last of them:\n{errors}",
                      file=sys.stderr)


def _wait_until_ready(process, log, port: int, ready_path: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {_tail(log)}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", ready_path)
            if connection.getresponse().status < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("server did not become ready in 60 s")
        time.sleep(0.2)


def _tail(log, size: int = 3000) -> str:
    log.flush()
    log.seek(0)
    return log.read()[-size:]


def gunicorn_app(app: str, port: int, workers: int) -> list[str]:
    return [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--log-level", "warning", app]


def _client(args):
    port, requests, rate_per_client, start_at = args
    time.sleep(max(0.0, start_at - time.time()))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, failures = [], []
    began = time.perf_counter()
    for n, (method, path, body, headers, expect) in enumerate(requests):
        sent = time.perf_counter()
        if rate_per_client:
            # Latency counts from when the request was due, so a client that falls behind
            # a slow server reports the wait too (no coordinated omission).
            due = began + n / rate_per_client
            time.sleep(max(0.0, due - sent))
            sent = due
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            status = response.status
        except OSError as exc:
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            failures.append(str(exc))
            continue
        latencies.append((time.perf_counter() - sent) * 1000)
        if status != expect:
            failures.append(f"{status}: {data[:200]!r}")
    connection.close()
    return latencies, failures


def drive(port: int, requests: list, concurrency: int, rate: float | None = None) -> dict:
    """Send ``requests`` (method, path, body, headers, expected status) from ``concurrency``
    processes; with ``rate`` (requests/s overall) they are paced, evenly spaced (the clients
    start 1/rate apart, not in step), otherwise flat out."""
    shares = [requests[n::concurrency] for n in range(concurrency)]
    per_client = rate / concurrency if rate else None
    start_at = time.time() + 0.5
    offsets = [n / rate if rate else 0.0 for n in range(concurrency)]
    began = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(concurrency) as pool:
        results = pool.map(_client, [(port, share, per_client, start_at + offset)
                                     for share, offset in zip(shares, offsets, strict=True)])
    elapsed = time.perf_counter() - began - 0.5
    latencies = [x for lat, _ in results for x in lat]
    failures = [f for _, fail in results for f in fail]
    return _summary(len(requests), elapsed, latencies, failures)


def _summary(requests: int, seconds: float, latencies: list[float], failures: list[str]) -> dict:
    latencies = sorted(latencies)
    return {
        "requests": requests, "seconds": round(seconds, 2),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2) if latencies else None,
        "failures": len(failures), "first_failure": failures[0] if failures else None,
        "latencies_ms": latencies,
    }


def pooled(runs: list[dict]) -> dict:
    """The runs as one: their latencies together (p50, p99 of all), requests/s overall, and
    each run's own p99 (``round_p99_ms``), for a steady rate measured in several stretches."""
    summary = _summary(sum(run["requests"] for run in runs),
                       sum(run["seconds"] for run in runs),
                       [x for run in runs for x in run["latencies_ms"]],
                       [run["first_failure"] for run in runs if run["failures"]])
    summary["failures"] = sum(run["failures"] for run in runs)
    return summary | {"round_p99_ms": [run["p99_ms"] for run in runs]}


def alternate(rounds: int, runs: dict) -> dict[str, list[dict]]:
    """Call each of ``runs`` (name -> a function returning ``drive``'s figures) ``rounds``
    times, taking turns, so drifts in this machine's speed (±20 % within minutes) fall on
    every row alike rather than on whichever ran during a slow minute."""
    results = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
    return results


def median_round(rounds: list[dict]) -> dict:
    """The round with the median requests/s (its latencies come from that same run);
    its ``failures`` are those of every round."""
    ordered = sorted(rounds, key=lambda row: row["rps"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["failures"] = sum(row["failures"] for row in rounds)
    chosen["first_failure"] = next((r["first_failure"] for r in rounds if r["failures"]), None)
    return chosen


def round_ratios(numerators: list[dict], denominators: list[dict]) -> list[float]:
    """The ratios of requests/s of rounds that ran side by side."""
    return [round(n["rps"] / d["rps"], 3) for n, d in zip(numerators, denominators, strict=True)]


@dataclass(frozen=True)
class Comparison:
    """Ours, the same work in SQL core and the bare insert (their median rounds), and
    ours as a fraction of each (the median of the per-round ratios)."""

    ours: dict
    same_work: dict
    bare: dict
    ratios: list[float]  # ours / bare, round by round
    ratio: float
    same_work_ratio: float


def compare(rounds: dict[str, list[dict]], ours: str) -> Comparison:
    ratios = round_ratios(rounds[ours], rounds["bare"])
    return Comparison(
        ours=median_round(rounds[ours]),
        same_work=median_round(rounds["same_work_core"]),
        bare=median_round(rounds["bare"]),
        ratios=ratios,
        ratio=statistics.median(ratios),
        same_work_ratio=statistics.median(round_ratios(rounds[ours], rounds["same_work_core"])),
    )


def print_table(rows: dict[str, dict]) -> None:
    print(f"{'':<28}{'requests':>9}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}")
    for name, row in rows.items():
        print(f"{name:<28}{row['requests']:>9}{row['rps']:>10}{row['p50_ms']:>9}"
              f"{row['p99_ms']:>9}{row['failures']:>8}")


def last_line(figures: dict) -> None:
    print(json.dumps(figures))


def synthetic_course(number: int, site_id: int, study_code: str, started, interval_hours: int,
                     stamp: dict) -> tuple[dict, dict]:
    """The rows of a patient and their running course (id ``number`` both), for bulk
    inserts: benchmarks load tens of thousands of them."""
    patient = stamp | {"id": number, "site_id": site_id, "study_code": study_code,
                       "age_months": 60, "weight_kg": 20.0, "language": "en",
                       "status": "active"}
    course = stamp | {"id": number, "patient_id": number, "drug": "blinatumomab",
                      "planned_start_at": started, "duration_days": 28,
                      "bag_interval_hours": interval_hours,
                      "rate_ml_per_hour": 10.0 if interval_hours == 24 else 5.0,
                      "status": "active", "started_at": started,
                      "change_window_before_minutes": 120, "change_window_after_minutes": 0,
                      "preferred_change_weekdays": []}
    return patient, course
