"""Figures read from the database at scrape time (the web's ``/metrics``): the same for
every process, so counted once, by whoever is scraped."""

from datetime import datetime, timedelta

from sqlalchemy import func, select

from opsbackend.domain.history import job_status
from opsbackend.domain.messaging import outbox
from opsbackend.models import Alert


class DatabaseCollector:
    """A prometheus_client collector over the scrape's session; ``intervals`` maps each
    job to how often it runs."""

    def __init__(self, session, now: datetime, tick: timedelta,
                 intervals: dict[str, timedelta]):
        self.session = session
        self.now = now
        self.tick = tick
        self.intervals = intervals

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        session, now = self.session, self.now
        depth, oldest_age = outbox.queue_figures(session, now)
        leader = job_status.leader_status(session, now, self.tick)
        runs = job_status.last_runs(session)
        open_alerts = dict(session.execute(
            select(Alert.kind, func.count()).where(Alert.status.in_(("open", "acknowledged")))
            .group_by(Alert.kind)).all())

        messages = GaugeMetricFamily("opsbackend_outbox_messages",
                                     "SMS waiting to go out (queued) or being sent",
                                     labels=("status",))
        for status, count in depth.items():
            messages.add_metric((status,), count)
        yield messages
        yield GaugeMetricFamily("opsbackend_outbox_oldest_queued_age_seconds",
                                "How long the oldest due SMS has waited", value=oldest_age)
        alerts = GaugeMetricFamily("opsbackend_alerts_open", "Alerts open or acknowledged",
                                   labels=("kind",))
        for kind, count in sorted(open_alerts.items()):
            alerts.add_metric((kind,), count)
        yield alerts
        yield GaugeMetricFamily(
            "opsbackend_scheduler_heartbeat_age_seconds",
            "Since the leading scheduler last ticked (absent: none ever led)",
            value=leader.seconds_since_heartbeat if leader.heartbeat else float("nan"))
        yield GaugeMetricFamily(
            "opsbackend_scheduler_leader_stale",
            "1 when no leader has ticked for 3 leadership intervals", value=int(leader.stale))
        age = GaugeMetricFamily("opsbackend_job_last_run_age_seconds",
                                "Since each job last started", labels=("job",))
        stale = GaugeMetricFamily("opsbackend_job_stale",
                                  "1 when a job has not run for 3 of its intervals",
                                  labels=("job",))
        for run in runs:
            age.add_metric((run.job,), (now - run.started_at).total_seconds())
            stale.add_metric((run.job,), int(job_status.job_is_stale(
                run, now, self.intervals.get(run.job))))
        yield age
        yield stale
