"""Does an alert's danger still stand? Per alert kind, read from the records, not the alert.

An alert whose danger stands cannot be resolved by hand (acknowledging it pauses the
ladder for a while instead); the scans resolve it when the danger passes. After a hand
resolve, a danger that comes back raises a new alert under ``cause#n``.
"""

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.models import Alert, Bag, Course, PumpReport, SmsOptOut, Visit

# Kinds whose danger can come back after the alert was resolved: raised again (``#n``).
REARMED_KINDS = ("missed_bag_change", "unassigned_visit", "staff_opted_out")


def danger(session: Session, clock: Clock, alert: Alert) -> str | None:
    """What still stands, in words for a 409, or None when nothing does (or the kind has
    no condition we can read)."""
    check = _CHECKS.get(alert.kind)
    return check(session, clock, alert) if check else None


def _missed_bag(session, clock, alert) -> str | None:
    bag = session.get(Bag, alert.bag_id) if alert.bag_id else None
    if bag is None or bag.changed_at is not None or bag.due_at > clock.now():
        return None
    course = session.get(Course, bag.course_id)
    if course.status != "active":
        return None
    return (f"bag {bag.sequence} is still hanging past its due time and the course is "
            "running")


def _pump_alarm(session, clock, alert) -> str | None:
    alarm = session.get(PumpReport, alert.pump_report_id) if alert.pump_report_id else None
    if alarm is None:
        return None
    later = aliased(PumpReport)
    ran_since = session.scalar(select(exists().where(and_(
        later.course_id == alarm.course_id, later.status == "running",
        later.reported_at > alarm.reported_at))))
    course = session.get(Course, alarm.course_id)
    if ran_since or course.status not in ("active", "paused"):
        return None
    return "the pump alarm has no later report of the pump running"


def _unassigned_visit(session, clock, alert) -> str | None:
    visit = session.get(Visit, alert.visit_id) if alert.visit_id else None
    if visit is None or visit.status != "unassigned" or visit.window_end < clock.now():
        return None
    return f"V{visit.id} still has no unit"


def _staff_opted_out(session, clock, alert) -> str | None:
    phone = alert.dedupe_key.split("#")[0].split(":")[2]  # staff_opted_out:SITE:PHONE
    stopped = session.scalar(select(SmsOptOut.opted_out).where(SmsOptOut.phone == phone))
    return f"{phone} has not texted START" if stopped else None


_CHECKS = {
    "missed_bag_change": _missed_bag,
    "pump_alarm_unresolved": _pump_alarm,
    "unassigned_visit": _unassigned_visit,
    "staff_opted_out": _staff_opted_out,
}


def readable(kind: str) -> bool:
    """Whether this kind's danger is read from the records (else it stands until resolved)."""
    return kind in _CHECKS


def raisable(session: Session, wanted: list[dict]) -> list[dict]:
    """Those of ``wanted`` (``raise_alert``'s keywords) that have no open alert for their
    cause, each under the key to raise it with: the cause's own key the first time,
    ``key#n`` when a rearmed kind's danger came back after its alert was resolved."""
    keys = [values["dedupe_key"] for values in wanted]
    if not keys:
        return []
    existing = dict(session.execute(
        select(Alert.dedupe_key, Alert.status).where(Alert.dedupe_key.in_(keys))).all())
    fresh = []
    for values in wanted:
        status = existing.get(values["dedupe_key"])
        if status is None:
            fresh.append(values)
        elif status == "resolved" and values["kind"] in REARMED_KINDS:
            again = _rearmed_key(session, values["dedupe_key"])
            if again is not None:
                fresh.append(values | {"dedupe_key": again})
    return fresh


def _rearmed_key(session: Session, key: str) -> str | None:
    """``key#n`` for the next time, or None while one of the earlier ones is open."""
    statuses = session.scalars(select(Alert.status).where(
        Alert.dedupe_key.startswith(f"{key}#", autoescape=True))).all()
    if any(status != "resolved" for status in statuses):
        return None
    return f"{key}#{len(statuses) + 2}"
