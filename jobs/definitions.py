"""Every scheduled job: a name, how often, and a plain function over a session and the clock.

Intervals are chosen against the promises they keep: alerts scan every 15 s and
the outbox drains every 5 s, so a missed bag change reaches a phone within
about 20 s of its grace expiring; slower jobs run less often.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete

from jobs.runner import JobResult
from opsbackend.domain.alerting import alert_scans, alerts
from opsbackend.domain.dispatch import lateness
from opsbackend.domain.dispatch.visits import mark_missed_visits
from opsbackend.domain.infusion import course_lifecycle, visit_schedule
from opsbackend.domain.messaging import callbacks, delivery_failures, outbox, reminders
from opsbackend.models import JobRun

JOB_RUNS_KEPT = timedelta(days=2)


@dataclass(frozen=True)
class Job:
    name: str
    seconds: int
    run: callable
    # The outbox sender commits per message (claim, then send): it opens its own sessions.
    own_transactions: bool = False


def missed_bag_changes(session, clock, context) -> JobResult:
    scan = alert_scans.scan_bags(session, clock, context.alert_rules)
    return JobResult(scan.examined, scan.alerts_raised, scan.messages_queued)


def escalation(session, clock, context) -> JobResult:
    escalated, messages = alerts.escalate_due(session, clock)
    return JobResult(examined=escalated, messages_queued=messages)


def pump_alarms(session, clock, context) -> JobResult:
    scan = alert_scans.scan_pump_alarms(session, clock, context.alert_rules)
    return JobResult(scan.examined, scan.alerts_raised, scan.messages_queued)


def unassigned_visits(session, clock, context) -> JobResult:
    scan = alert_scans.scan_unassigned_visits(session, clock, context.alert_rules)
    return JobResult(scan.examined, scan.alerts_raised, scan.messages_queued)


def late_units(session, clock, context) -> JobResult:
    examined, raised, queued = lateness.scan_late_units(session, clock)
    return JobResult(examined, raised, queued)


def callback_requests(session, clock, context) -> JobResult:
    examined, raised, queued = callbacks.scan_overdue(session, clock)
    return JobResult(examined, raised, queued)


def failed_deliveries(session, clock, context) -> JobResult:
    examined, raised, queued = delivery_failures.scan(session, clock)
    return JobResult(examined, raised, queued)


def family_reminders(session, clock, context) -> JobResult:
    examined, queued = reminders.queue_due_reminders(session, clock)
    return JobResult(examined=examined, messages_queued=queued)


def visit_horizon(session, clock, context) -> JobResult:
    examined = visit_schedule.generate_visits(session, clock, context.timeline_rules)
    mark_missed_visits(session, clock)
    session.execute(delete(JobRun).where(JobRun.started_at < clock.now() - JOB_RUNS_KEPT))
    return JobResult(examined=examined)


def course_completion(session, clock, context) -> JobResult:
    completed = course_lifecycle.complete_delivered_courses(session, clock, context.timeline_rules)
    return JobResult(examined=completed)


def outbox_sender(database, clock, context) -> JobResult:
    summary = outbox.send_due(database, clock, context.sms_provider,
                              status_callback_base=context.status_callback_base)
    return JobResult(examined=summary.claimed + summary.reaped)


JOBS = (
    Job("outbox_sender", 5, outbox_sender, own_transactions=True),
    Job("missed_bag_changes", 15, missed_bag_changes),
    Job("escalation", 15, escalation),
    Job("pump_alarms", 30, pump_alarms),
    Job("unassigned_visits", 60, unassigned_visits),
    Job("late_units", 60, late_units),
    Job("callback_requests", 60, callback_requests),
    Job("failed_deliveries", 60, failed_deliveries),
    Job("family_reminders", 60, family_reminders),
    Job("course_completion", 60, course_completion),
    Job("visit_horizon", 600, visit_horizon),
)
