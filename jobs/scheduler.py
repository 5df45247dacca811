"""The scheduler: APScheduler 3.x triggers the jobs in ``jobs.definitions``; it only triggers.

Every job is an interval job with ``coalesce=True`` (runs missed while busy
collapse into one), ``max_instances=1`` (a slow run is never overlapped by the
next) and a ``misfire_grace_time`` of twice its interval (a run delayed by a
busy machine still happens; APScheduler's default of 1 s would skip it). A job woken
while it runs (the sender, when a scan queued SMS) runs again as it ends. Each
run first checks that this process leads; a standby takes over within one
leadership tick after the leader dies.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from jobs.definitions import JOBS
from jobs.leader import leader_lock_for
from jobs.runner import RUNNER, run_job
from jobs.watch import WATCH_SECONDS, SchedulerWatch
from opsbackend import metrics
from opsbackend.domain.interop.webhook_sender import SenderSettings
from opsbackend.domain.messaging.send_lanes import DEFAULT_LANES
from opsbackend.domain.rules import AlertRules, TimelineRules
from opsbackend.models import SchedulerHeartbeat

log = logging.getLogger("opsbackend.jobs")
LEADERSHIP_TICK_SECONDS = 5
LEADERSHIP_TICK = timedelta(seconds=LEADERSHIP_TICK_SECONDS)


@dataclass
class JobContext:
    timeline_rules: TimelineRules
    alert_rules: AlertRules
    sms_provider: object
    status_callback_base: str = ""
    webhooks: SenderSettings = field(default_factory=SenderSettings)
    # None: HTTP (opsbackend.webhooks.transport) under ``webhooks.policy``.
    webhook_transport: object = None
    # How many SMS the outbox sender hands to the provider at once (SMS_SEND_LANES).
    send_lanes: int = DEFAULT_LANES
    # Runs the outbox sender now (a scan just queued SMS), rather than at its next tick.
    wake_sender: Callable[[], None] = lambda: None


class Leadership:
    def __init__(self, database, clock, lock):
        self.database = database
        self.clock = clock
        self.lock = lock
        self.leading = False
        self.ticked_at = time.monotonic()

    def tick(self) -> bool:
        self.ticked_at = time.monotonic()
        was = self.leading
        try:
            self.leading = self.lock.acquire()
        except Exception:  # the database is unreachable: whatever we held is gone with it
            log.warning("could not reach the database for the leader lock")
            self.leading = False
        if self.leading != was:
            log.info("leadership changed", extra={"leader": self.leading, "runner": RUNNER})
            metrics.leadership_changed(self.leading)
        if self.leading:
            with self.database.transaction(actor="scheduler") as session:
                session.merge(SchedulerHeartbeat(name="scheduler", leader=RUNNER,
                                                 heartbeat_at=self.clock.now()))
        return self.leading

    def alive(self) -> bool:
        """This process's scheduler still ticks (leader or standby)."""
        return time.monotonic() - self.ticked_at < LEADERSHIP_TICK_SECONDS * 3


def build_scheduler(database, clock, context: JobContext, *, blocking: bool = True,
                    lock=None):
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    url = database.engine.url.render_as_string(hide_password=False)
    leadership = Leadership(database, clock, lock or leader_lock_for(url))
    scheduler.add_job(leadership.tick, "interval", seconds=LEADERSHIP_TICK_SECONDS,
                      id="leadership", coalesce=True, max_instances=1,
                      misfire_grace_time=LEADERSHIP_TICK_SECONDS * 2)

    # Not gated by leadership: a standby is who notices a leader that stopped ticking.
    watch = SchedulerWatch(database, clock, context.sms_provider, context.status_callback_base)
    add_watch(scheduler, watch)

    runs = Runs(scheduler)
    for job in JOBS:
        def fire(job=job):
            if leadership.leading:
                runs.run(job.name, lambda: run_job(database, clock, job, context))

        scheduler.add_job(fire, "interval", seconds=job.seconds, id=job.name, coalesce=True,
                          max_instances=1, misfire_grace_time=job.seconds * 2)
    context.wake_sender = lambda: runs.wake("outbox_sender")
    leadership.tick()
    scheduler.leadership = leadership
    return scheduler


class Runs:
    """Which jobs are running now, so that a job woken while it runs (``wake``: a scan
    queued SMS while the sender was sending) runs again as soon as it ends. Brought
    forward instead, APScheduler would skip that run (``max_instances=1``) with a
    warning, once per batch of a busy scan, and what was queued would wait a tick."""

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._again: set[str] = set()

    def run(self, name: str, work: Callable[[], object]) -> None:
        with self._lock:
            self._running.add(name)
        try:
            while True:
                work()
                with self._lock:
                    if name not in self._again:
                        return
                    self._again.discard(name)
        finally:
            with self._lock:
                self._running.discard(name)
                self._again.discard(name)

    def wake(self, name: str) -> None:
        with self._lock:
            if name in self._running:
                self._again.add(name)
                return
        _run_soon(self.scheduler, name)


def add_watch(scheduler, watch: SchedulerWatch) -> None:
    scheduler.add_job(watch.check, "interval", seconds=WATCH_SECONDS, id="scheduler_watch",
                      coalesce=True, max_instances=1, misfire_grace_time=WATCH_SECONDS * 2)


def watch_only_scheduler(database, clock, sms_provider, status_callback_base=""):
    """For a web server: a background scheduler that runs only the watch."""
    scheduler = BackgroundScheduler(timezone="UTC")
    add_watch(scheduler, SchedulerWatch(database, clock, sms_provider, status_callback_base))
    return scheduler


def _run_soon(scheduler, job_id: str) -> None:
    try:
        scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
    except Exception:  # shutting down: the job runs at its next tick anyway
        log.debug("could not bring %s forward", job_id)
