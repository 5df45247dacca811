"""Prometheus metrics (prometheus-client): what each process saw, and what the database
holds at scrape time.

Each process counts what happens in it: requests (web workers), job runs, leader
changes and first-SMS delays (schedulers), alerts raised (whoever raises them), SMS
failures (whoever sends). Under gunicorn the workers share them through files in
``PROMETHEUS_MULTIPROC_DIR``, which ``opsbackend serve`` sets and empties at start
(``use_multiprocess_dir``). The figures that are the database's state — outbox depth
and age, open alerts, when the leader last beat, each job's last run — are read at
scrape time by the web's ``/metrics`` (``DatabaseCollector``), so they are counted
once however many processes run.

prometheus_client chooses between in-process and multiprocess values when a metric is
created, from the environment; so nothing here is created before the first use
(``_metrics()``), and ``use_multiprocess_dir`` refuses to run after it.
"""

import hmac
import os
import shutil
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import event

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
JOB_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
FIRST_SMS_BUCKETS = (1, 2.5, 5, 10, 15, 20, 30, 45, 60, 120, 300, 600)


@dataclass(frozen=True)
class _Metrics:
    requests: object
    job_runs: object
    job_failures: object
    alerts_raised: object
    first_sms: object
    sms_failures: object
    leader_changes: object
    leading: object


# functools.cache lets two threads run the first call together; the second registration
# of a metric name raises (a 500 for one of a worker's first concurrent requests).
_first_use = threading.Lock()


def _metrics() -> _Metrics:
    with _first_use:
        return _create_metrics()


@cache
def _create_metrics() -> _Metrics:
    from prometheus_client import Counter, Gauge, Histogram

    if os.environ.get(MULTIPROC_ENV):  # set by hand for a process other than serve
        os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)
    return _Metrics(
        requests=Histogram("opsbackend_http_request_duration_seconds",
                           "HTTP requests by route and status", ("method", "route", "status"),
                           buckets=LATENCY_BUCKETS),
        job_runs=Histogram("opsbackend_job_duration_seconds", "Scheduled job runs", ("job",),
                           buckets=JOB_BUCKETS),
        job_failures=Counter("opsbackend_job_failures", "Job runs that failed", ("job",)),
        alerts_raised=Counter("opsbackend_alerts_raised", "Alerts raised", ("kind",)),
        first_sms=Histogram("opsbackend_alert_first_sms_seconds",
                            "From an alert's condition (e.g. a bag's grace expired) to its "
                            "first SMS handed to the provider", ("kind",),
                            buckets=FIRST_SMS_BUCKETS),
        sms_failures=Counter("opsbackend_sms_failures",
                             "SMS the provider refused or did not answer, by error code",
                             ("code",)),
        leader_changes=Counter("opsbackend_scheduler_leader_changes",
                               "Times this process took or lost the scheduler's leadership"),
        leading=Gauge("opsbackend_scheduler_leading", "1 while this process leads",
                      multiprocess_mode="livemax"),
    )


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    _metrics().requests.labels(method, route, str(status)).observe(seconds)


def observe_job(job: str, seconds: float, failed: bool) -> None:
    _metrics().job_runs.labels(job).observe(seconds)
    if failed:
        _metrics().job_failures.labels(job).inc()


def observe_first_sms(kind: str, seconds: float) -> None:
    _metrics().first_sms.labels(kind).observe(max(seconds, 0.0))


def count_sms_failure(code: str) -> None:
    _metrics().sms_failures.labels(code).inc()


def leadership_changed(leading: bool) -> None:
    _metrics().leader_changes.inc()
    _metrics().leading.set(1 if leading else 0)


def count_raised_alerts(session_factory) -> None:
    """Alerts are counted by kind when the transaction that raised them commits, wherever
    they were raised (a scan, the scheduler watch), like the audit listener hooks flushes."""

    @event.listens_for(session_factory, "after_flush")
    def _collect(session, _context):
        from opsbackend.models import Alert

        kinds = [obj.kind for obj in session.new if isinstance(obj, Alert)]
        if kinds:
            session.info.setdefault("alerts_raised", []).extend(kinds)

    @event.listens_for(session_factory, "after_commit")
    def _count(session):
        for kind in session.info.pop("alerts_raised", ()):
            _metrics().alerts_raised.labels(kind).inc()

    @event.listens_for(session_factory, "after_rollback")
    def _forget(session):
        session.info.pop("alerts_raised", None)


def use_multiprocess_dir(path: str | None = None) -> str:
    """For gunicorn: every process writes its metrics under one directory, emptied now
    (files of a previous run's dead workers would be summed in). Call it before any
    metric is used in this process."""
    if _create_metrics.cache_info().currsize:
        raise RuntimeError("metrics were used before the multiprocess directory was set")
    directory = Path(path or os.environ.get(MULTIPROC_ENV) or _default_directory())
    if directory.exists():
        for entry in directory.iterdir():
            if entry.is_file() and entry.suffix == ".db":
                entry.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # if it was imported before the variable
    return str(directory)


def _default_directory() -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"opsbackend-metrics-{os.getuid()}-{os.getpid()}")


def worker_exited(pid: int) -> None:
    """gunicorn's ``child_exit``: a dead worker's live gauges stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def remove_directory(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def exposition(collectors=()) -> tuple[bytes, str]:
    """The text format: this process's metrics (all processes' under gunicorn), then
    ``collectors`` (read at scrape time)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    _metrics()  # every family shows, at zero, before its first event
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    extra = CollectorRegistry()
    for collector in collectors:
        extra.register(collector)
    return generate_latest(registry) + generate_latest(extra), CONTENT_TYPE_LATEST


def scrape_allowed(session, scrape_token: str, authorization: str) -> bool | None:
    """True for the configured scrape token or a staff API token; None without any
    credential (401), False for a token that may not read metrics (403)."""
    from opsbackend.api.auth import STAFF
    from opsbackend.domain.registry import tokens

    scheme, _, raw = authorization.partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        return None
    if scrape_token and hmac.compare_digest(raw.encode(), scrape_token.encode()):
        return True
    token = tokens.authenticate(session, raw)
    if token is None:
        return None
    return token.role in STAFF
