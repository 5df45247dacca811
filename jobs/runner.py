"""Run one job: its own transaction, a JobRun row, one structured log line."""

import logging
import os
import socket
import time
from dataclasses import dataclass

from opsbackend import metrics
from opsbackend.models import JobRun

log = logging.getLogger("opsbackend.jobs")
RUNNER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class JobResult:
    examined: int = 0
    alerts_raised: int = 0
    messages_queued: int = 0


def run_job(database, clock, job, context) -> JobResult | None:
    """Run ``job.run(session, clock, context)`` in one transaction and record how it went."""
    started_at = clock.now()
    started = time.perf_counter()
    error = None
    result = None
    try:
        if job.own_transactions:
            result = job.run(database, clock, context)
        else:
            with database.transaction(actor=f"job:{job.name}") as session:
                result = job.run(session, clock, context)
    except Exception as exc:  # a failing job must not stop the scheduler
        error = f"{type(exc).__name__}: {exc}"[:500]
        log.exception("job failed", extra={"job": job.name})
    seconds = time.perf_counter() - started
    duration_ms = round(seconds * 1000, 2)
    metrics.observe_job(job.name, seconds, failed=error is not None)
    result_or_empty = result or JobResult()
    record = dict(
        job=job.name, started_at=started_at, duration_ms=duration_ms,
        outcome="error" if error else "ok", examined=result_or_empty.examined,
        alerts_raised=result_or_empty.alerts_raised,
        messages_queued=result_or_empty.messages_queued, error=error, runner=RUNNER,
    )
    with database.transaction(actor=f"job:{job.name}") as session:
        session.add(JobRun(**record))
    # A run that found nothing to do is logged at DEBUG: several jobs tick every 5 s, and
    # the job_run table and /metrics keep every run anyway.
    idle = error is None and not (result_or_empty.examined or result_or_empty.alerts_raised
                                  or result_or_empty.messages_queued)
    log.log(logging.DEBUG if idle else logging.INFO, "job run",
            extra={k: v for k, v in record.items() if k != "started_at"})
    return result
