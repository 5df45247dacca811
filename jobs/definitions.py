"""Every scheduled job: a name, how often, and a plain function over a session and the clock.

Intervals are chosen against the promises they keep: missed bag changes are looked
for every 5 s (a steady tick costs ~20 ms at 100,000 courses) and the scan wakes the
outbox sender as soon as it queues SMS, so a missed bag change reaches a phone within
seconds of its grace expiring, and a burst of two thousand within 30 s; escalation
runs every 15 s; the webhook queue drains every 5 s; slower jobs run less often.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete

from jobs.runner import JobResult
from opsbackend import metrics
from opsbackend.domain.alerting import alert_scans, alerts, first_sms
from opsbackend.domain.dispatch import lateness
from opsbackend.domain.dispatch.visits import mark_missed_visits
from opsbackend.domain.infusion import course_lifecycle, visit_schedule
from opsbackend.domain.interop import webhook_sender
from opsbackend.domain.messaging import callbacks, delivery_failures, outbox, reminders
from opsbackend.models import JobRun

JOB_RUNS_KEPT = timedelta(days=2)
# Messages a pass claims. A pass lasts as long as its slowest lane, so with 32 lanes and
# Twilio at ~150 ms a batch of 100 left the lanes idle between passes (~150 SMS/s in
# bench_region); 400 keeps them near their ceiling (~210/s), and a message queued
# meanwhile waits at most one pass (~2 s) to be claimed, the most urgent first.
SEND_BATCH = 400


@dataclass(frozen=True)
class Job:
    name: str
    seconds: int
    run: callable
    # The outbox sender (claim, then send) and the batched scans commit as they go:
    # they open their own sessions.
    own_transactions: bool = False


def missed_bag_changes(database, clock, context) -> JobResult:
    """The scan in batches, each committed: in a burst (thousands of bags overdue at
    once) the first alerts' SMS go out while the later ones are being raised."""
    return _in_batches(database, clock, context, "job:missed_bag_changes",
                       alert_scans.scan_bags)


def unassigned_visits(database, clock, context) -> JobResult:
    """In batches too: a busy start (every visit of the next hours without a unit) raises
    thousands of alerts, and the first reach the desk while the rest are raised."""
    return _in_batches(database, clock, context, "job:unassigned_visits",
                       alert_scans.scan_unassigned_visits)


def _in_batches(database, clock, context, actor: str, scan_batch) -> JobResult:
    total = JobResult()
    after = None
    while True:
        with database.transaction(actor=actor) as session:
            scan = scan_batch(session, clock, context.alert_rules, after=after,
                              limit=alert_scans.BAG_BATCH)
        total.examined += scan.examined
        total.alerts_raised += scan.alerts_raised
        total.messages_queued += scan.messages_queued
        if scan.messages_queued:
            context.wake_sender()
        if not scan.more:
            return total
        after = scan.last


def escalation(session, clock, context) -> JobResult:
    escalated, messages = alerts.escalate_due(session, clock)
    return JobResult(examined=escalated, messages_queued=messages)


def pump_alarms(session, clock, context) -> JobResult:
    scan = alert_scans.scan_pump_alarms(session, clock, context.alert_rules)
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
    """Pass after pass until nothing is due (or the provider struggles), so a burst's
    thousands of SMS leave in one run rather than a batch every interval."""
    examined = 0
    while True:
        summary = outbox.send_due(database, clock, context.sms_provider,
                                  batch_size=SEND_BATCH, lanes=context.send_lanes,
                                  status_callback_base=context.status_callback_base)
        examined += summary.claimed + summary.reaped
        _observe_first_sms(database, summary.sent_ids)
        if summary.claimed < SEND_BATCH or summary.paused:
            return JobResult(examined=examined)


def _observe_first_sms(database, message_ids: list[int]) -> None:
    if message_ids:
        with database.new_session() as session:
            for kind, seconds in first_sms.first_sms_delays(session, message_ids):
                metrics.observe_first_sms(kind, seconds)


def webhook_deliveries(database, clock, context) -> JobResult:
    summary = webhook_sender.send_due(database, clock, context.webhooks,
                                      context.webhook_transport)
    return JobResult(examined=summary.claimed + summary.reaped)


JOBS = (
    Job("outbox_sender", 5, outbox_sender, own_transactions=True),
    Job("webhook_sender", 5, webhook_deliveries, own_transactions=True),
    Job("missed_bag_changes", 5, missed_bag_changes, own_transactions=True),
    Job("escalation", 15, escalation),
    Job("pump_alarms", 30, pump_alarms),
    Job("unassigned_visits", 60, unassigned_visits, own_transactions=True),
    Job("late_units", 60, late_units),
    Job("callback_requests", 60, callback_requests),
    Job("failed_deliveries", 60, failed_deliveries),
    Job("family_reminders", 60, family_reminders),
    Job("course_completion", 60, course_completion),
    Job("visit_horizon", 600, visit_horizon),
)

INTERVALS = {job.name: timedelta(seconds=job.seconds) for job in JOBS}
