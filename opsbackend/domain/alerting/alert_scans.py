"""What the scheduled jobs look for: each scan raises the alerts its cause calls for,
and closes those whose cause went away."""

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alert_batches, alerts
from opsbackend.domain.infusion.bags import due_bags_query
from opsbackend.domain.infusion.course_progress import progress_from
from opsbackend.domain.infusion.pump_reports import unresolved_alarm
from opsbackend.domain.messaging import templates
from opsbackend.domain.registry import sites
from opsbackend.domain.rules import DEFAULT_ALERT_RULES, AlertRules
from opsbackend.domain.scope import Scope
from opsbackend.models import (
    Alert,
    Bag,
    Course,
    CourseInterruption,
    Patient,
    PumpReport,
    Site,
    Visit,
)

NOBODY_THERE_YET = ("unassigned", "assigned", "en_route")


# Bags owed an alert are read and raised this many at a time, each batch its own
# transaction when the job drives them (jobs/definitions.py): in a burst the outbox
# sender starts on the first batch's SMS while the scan raises the next.
BAG_BATCH = 250


@dataclass
class ScanResult:
    examined: int = 0
    alerts_raised: int = 0
    messages_queued: int = 0
    # Where a batched scan stopped (the last bag's (due_at, id), the last visit's id),
    # and whether more may remain after it.
    last: tuple | None = None
    more: bool = False

    def count(self, raised: alerts.Raised | None) -> None:
        if raised is not None:
            self.alerts_raised += 1
            self.messages_queued += raised.messages_queued


def scan_bags(session: Session, clock: Clock, rules: AlertRules = DEFAULT_ALERT_RULES, *,
              after: tuple | None = None, limit: int | None = None) -> ScanResult:
    """Missed bag changes (past due + grace) and bags at risk (due soon, nobody on site).

    Everything about the due bags is read in a handful of queries and their alerts are
    raised together, so a tick costs what the due bags cost, not what the courses cost.
    With ``limit``, one batch: the bags after ``after`` (the previous batch's ``last``).
    """
    now = clock.now()
    result = ScanResult()
    if after is None:
        close_changed_bag_alerts(session, clock)
    # Only bags still owed an alert: a steady tick reads next to nothing.
    # A missed bag change resolved by hand (the course was paused) is owed a new alert
    # when the danger comes back (``raisable`` keys it ``#n``).
    missed_raised = exists().where(Alert.bag_id == Bag.id, Alert.kind == "missed_bag_change",
                                   Alert.status.in_(alerts.OPEN_STATUSES))
    at_risk_raised = exists().where(Alert.bag_id == Bag.id, Alert.kind == "at_risk")
    owed = due_bags_query(now + rules.at_risk_lead).where(
        ~missed_raised, or_(Bag.due_at <= now - rules.missed_bag_grace, ~at_risk_raised)
    ).order_by(None).order_by(Bag.due_at, Bag.id)
    if after is not None:
        owed = owed.where(or_(Bag.due_at > after[0], and_(Bag.due_at == after[0],
                                                          Bag.id > after[1])))
    if limit is not None:
        owed = owed.limit(limit)
    bags = list(session.scalars(owed))
    if not bags:
        return result
    result.last, result.more = (bags[-1].due_at, bags[-1].id), len(bags) == limit
    context = _BagContext.load(session, owed.subquery())
    zones = sites.zones(session, Scope.everything())
    wanted, superseded = [], []
    for bag in bags:
        result.examined += 1
        course = context.courses[bag.course_id]
        end = progress_from(course, context.interruptions[course.id], now).projected_end_at
        if bag.due_at >= end:
            continue  # the course ends with this bag: a disconnect, not a change, is due
        visit = context.visits.get(f"bag_change:{bag.course_id}:{bag.sequence}")
        if bag.due_at + rules.missed_bag_grace <= now:
            kind, condition_at = "missed_bag_change", bag.due_at + rules.missed_bag_grace
        elif visit is None or visit.status in NOBODY_THERE_YET:
            kind, condition_at = "at_risk", max(bag.due_at - rules.at_risk_lead, bag.hung_at)
        else:
            continue
        if f"{kind}:bag:{bag.id}" in context.raised:
            continue
        if kind == "missed_bag_change" and f"at_risk:bag:{bag.id}" in context.open_at_risk:
            superseded.append(f"at_risk:bag:{bag.id}")
        patient = context.patients[course.patient_id]
        wanted.append(_bag_alert(kind, bag, course, patient, visit, condition_at,
                                 zones[patient.site_id]))
    if superseded:
        alerts.resolve_where(session, clock, "superseded by a missed bag change alert",
                             Alert.dedupe_key.in_(superseded))
    for raised in alert_batches.raise_alerts(session, clock, wanted):
        result.count(raised)
    return result


@dataclass
class _BagContext:
    courses: dict
    patients: dict
    interruptions: dict
    visits: dict
    raised: set
    open_at_risk: set

    @classmethod
    def load(cls, session: Session, due) -> "_BagContext":
        """``due`` is the due-bags query as a subquery: joins, not lists of thousands of ids."""
        courses = {c.id: c for c in session.scalars(
            select(Course).join(due, due.c.course_id == Course.id))}
        patients = {p.id: p for p in session.scalars(
            select(Patient).join(Course, Course.patient_id == Patient.id)
            .join(due, due.c.course_id == Course.id))}
        interruptions = defaultdict(list)
        for interruption in session.scalars(select(CourseInterruption).join(
                due, due.c.course_id == CourseInterruption.course_id)):
            interruptions[interruption.course_id].append(interruption)
        visits = {v.dedupe_key: v for v in session.scalars(
            select(Visit).join(due, (due.c.course_id == Visit.course_id)
                               & (Visit.bag_id == due.c.id)))}
        visits |= {v.dedupe_key: v for v in session.scalars(
            select(Visit).join(due, due.c.course_id == Visit.course_id)
            .where(Visit.kind == "bag_change", Visit.bag_id.is_(None)))}
        existing = session.execute(
            select(Alert.dedupe_key, Alert.status).join(due, due.c.id == Alert.bag_id)
        ).all()
        raised = {k for k, status in existing
                  if status != "resolved" or not k.startswith("missed_bag_change")}
        return cls(courses, patients, interruptions, visits, raised,
                   {k for k, status in existing if k.startswith("at_risk") and status == "open"})


def close_changed_bag_alerts(session: Session, clock: Clock) -> int:
    """Alerts of bags that came down (changed, or the course ended) are resolved, and
    those of courses no longer running (paused, discontinued)."""
    closed = (
        select(Alert.id)
        .join(Bag, Bag.id == Alert.bag_id)
        .where(Alert.status.in_(alerts.OPEN_STATUSES), Bag.changed_at.is_not(None),
               Alert.kind.in_(("missed_bag_change", "at_risk")))
    )
    stopped = (
        select(Alert.id)
        .join(Course, Course.id == Alert.course_id)
        .where(Alert.status.in_(alerts.OPEN_STATUSES), Course.status != "active",
               Alert.kind.in_(("missed_bag_change", "at_risk")))
    )
    return (alerts.resolve_where(session, clock, "the bag was changed", Alert.id.in_(closed))
            + alerts.resolve_where(session, clock, "the course is not running",
                                   Alert.id.in_(stopped)))


def scan_pump_alarms(session: Session, clock: Clock, rules: AlertRules = DEFAULT_ALERT_RULES):
    """Alarms with no later "running" report for too long."""
    now = clock.now()
    result = ScanResult()
    close_resolved_pump_alerts(session, clock)
    later_running = aliased(PumpReport)
    stale = session.scalars(
        select(PumpReport)
        .join(Course, Course.id == PumpReport.course_id)
        .where(
            PumpReport.status == "alarm",
            PumpReport.reported_at <= now - rules.pump_alarm_unresolved_after,
            Course.status.in_(("active", "paused")),
            ~exists().where(and_(
                later_running.course_id == PumpReport.course_id,
                later_running.status == "running",
                later_running.reported_at > PumpReport.reported_at,
            )),
        )
        .order_by(PumpReport.reported_at)
    ).all()
    wanted = []
    zones = sites.zones(session, Scope.everything()) if stale else {}
    for course_id in dict.fromkeys(report.course_id for report in stale):
        result.examined += 1
        alarm = unresolved_alarm(session, course_id)  # the alarm that opened the condition
        course = session.get(Course, course_id)
        patient = session.get(Patient, course.patient_id)
        wanted.append(dict(
            kind="pump_alarm_unresolved",
            dedupe_key=f"pump_alarm:{course_id}:{alarm.id}", site_id=patient.site_id,
            patient_id=patient.id, course_id=course_id, pump_report_id=alarm.id,
            condition_at=alarm.reported_at + rules.pump_alarm_unresolved_after,
            summary=f"{patient.study_code}: pump alarm ({alarm.alarm_type}) unresolved since "
                    f"{templates.local_time(alarm.reported_at, zones[patient.site_id])}",
        ))
    for raised in alert_batches.raise_alerts(session, clock, wanted):
        result.count(raised)
    return result


def close_resolved_pump_alerts(session: Session, clock: Clock) -> int:
    """Alarm alerts whose pump has run since are resolved."""
    later_running = aliased(PumpReport)
    alarm = aliased(PumpReport)
    resolved = select(alarm.id).where(exists().where(and_(
        later_running.course_id == alarm.course_id,
        later_running.status == "running",
        later_running.reported_at > alarm.reported_at,
    )))
    return alerts.resolve_where(
        session, clock, "the pump reported running",
        Alert.kind == "pump_alarm_unresolved", Alert.pump_report_id.in_(resolved),
    )


def scan_unassigned_visits(
    session: Session, clock: Clock, rules: AlertRules = DEFAULT_ALERT_RULES, *,
    after: int | None = None, limit: int | None = None,
) -> ScanResult:
    """Visits starting soon with no unit. Only visits without an open alert are read, with
    their patient's code and site in the same query (a busy day has thousands: a steady
    tick reads next to nothing). With ``limit``, one batch: the visits after id ``after``.
    """
    now = clock.now()
    result = ScanResult()
    if after is None:
        alerts.resolve_where(
            session, clock, "the visit has a unit now, or no longer needs one",
            Alert.kind == "unassigned_visit",
            Alert.visit_id.in_(select(Visit.id).where(Visit.status != "unassigned")),
        )
    alerted = exists().where(Alert.visit_id == Visit.id, Alert.kind == "unassigned_visit",
                             Alert.status.in_(alerts.OPEN_STATUSES))
    stmt = (
        select(Visit, Patient.study_code, Patient.site_id, Site.timezone)
        .join(Patient, Patient.id == Visit.patient_id).join(Site, Site.id == Patient.site_id)
        .where(Visit.status == "unassigned",
               Visit.window_start <= now + rules.unassigned_visit_within,
               Visit.window_end >= now, ~alerted)
        .order_by(Visit.id)
    )
    if after is not None:
        stmt = stmt.where(Visit.id > after)
    rows = session.execute(stmt.limit(limit) if limit is not None else stmt).all()
    wanted = []
    for visit, study_code, site_id, timezone in rows:
        result.examined += 1
        wanted.append(dict(
            kind="unassigned_visit", dedupe_key=f"unassigned_visit:{visit.id}",
            site_id=site_id, patient_id=visit.patient_id, course_id=visit.course_id,
            bag_id=visit.bag_id, visit_id=visit.id, severity="medium",
            condition_at=max(visit.window_start - rules.unassigned_visit_within,
                             visit.created_at or now),
            summary=f"{study_code}: V{visit.id} {visit.kind} starts "
                    f"{templates.local_time(visit.window_start, timezone)} with no unit",
        ))
    for raised in alert_batches.raise_alerts(session, clock, wanted):
        result.count(raised)
    result.last = rows[-1][0].id if rows else after
    result.more = limit is not None and len(rows) == limit
    return result


def _bag_alert(kind, bag, course, patient, visit, condition_at, zone: str) -> dict:
    words = "missed" if kind == "missed_bag_change" else "at risk"
    return dict(
        kind=kind, dedupe_key=f"{kind}:bag:{bag.id}", site_id=patient.site_id,
        patient_id=patient.id, course_id=course.id, bag_id=bag.id,
        visit_id=visit.id if visit else None, condition_at=condition_at,
        summary=f"{patient.study_code}: bag {bag.sequence} change {words} "
                f"(due {templates.local_time(bag.due_at, zone)})",
    )
