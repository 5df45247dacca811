"""A patient's timeline: everything that happened to their infusion, in time order."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.records import get_or_404
from opsbackend.models import (
    Alert,
    Bag,
    CheckIn,
    Course,
    CourseEvent,
    Deviation,
    Patient,
    PumpReport,
    Visit,
)


@dataclass(frozen=True)
class Entry:
    at: datetime
    type: str
    record_id: int
    course_id: int | None
    summary: str
    details: dict = field(default_factory=dict)


def patient_timeline(session: Session, patient_id: int) -> list[Entry]:
    get_or_404(session, Patient, patient_id)
    course_ids = list(session.scalars(select(Course.id).where(Course.patient_id == patient_id)))
    entries = [
        *_course_events(session, course_ids),
        *_bags(session, course_ids),
        *_pump_reports(session, course_ids),
        *_visits(session, patient_id),
        *_check_ins(session, patient_id),
        *_alerts(session, patient_id),
        *_deviations(session, patient_id),
    ]
    return sorted(entries, key=lambda e: (e.at, e.type, e.record_id))


def _course_events(session, course_ids):
    for event in session.scalars(select(CourseEvent).where(CourseEvent.course_id.in_(course_ids))):
        yield Entry(event.occurred_at, f"course_{event.kind}", event.id, event.course_id,
                    f"course {event.course_id} {event.kind}", event.details)


def _bags(session, course_ids):
    for bag in session.scalars(select(Bag).where(Bag.course_id.in_(course_ids))):
        yield Entry(bag.hung_at, "bag_hung", bag.id, bag.course_id,
                    f"bag {bag.sequence} hung, due {bag.due_at.isoformat()}",
                    {"sequence": bag.sequence, "due_at": bag.due_at.isoformat()})
        if bag.changed_at is not None:
            yield Entry(bag.changed_at, "bag_down", bag.id, bag.course_id,
                        f"bag {bag.sequence} down ({bag.end_reason})",
                        {"sequence": bag.sequence, "end_reason": bag.end_reason,
                         "timing": bag.change_timing_flag})


def _pump_reports(session, course_ids):
    for report in session.scalars(select(PumpReport).where(PumpReport.course_id.in_(course_ids))):
        summary = f"pump {report.status}" + (f" ({report.alarm_type})" if report.alarm_type else "")
        yield Entry(report.reported_at, "pump_report", report.id, report.course_id, summary,
                    {"flags": report.flags, "battery_pct": report.battery_pct})


def _visits(session, patient_id):
    for visit in session.scalars(select(Visit).where(Visit.patient_id == patient_id)):
        yield Entry(visit.window_start, "visit", visit.id, visit.course_id,
                    f"V{visit.id} {visit.kind} ({visit.status})",
                    {"window_end": visit.window_end.isoformat(), "unit_id": visit.unit_id})


def _check_ins(session, patient_id):
    for check_in in session.scalars(select(CheckIn).where(CheckIn.patient_id == patient_id)):
        yield Entry(check_in.occurred_at, "check_in", check_in.id, None,
                    f"nurse {check_in.nurse_id} {check_in.kind} by {check_in.channel}",
                    {"visit_id": check_in.visit_id})


def _alerts(session, patient_id):
    for alert in session.scalars(select(Alert).where(Alert.patient_id == patient_id)):
        yield Entry(alert.raised_at, "alert", alert.id, alert.course_id,
                    f"{alert.kind} ({alert.status})", {"summary": alert.summary})


def _deviations(session, patient_id):
    for deviation in session.scalars(select(Deviation).where(Deviation.patient_id == patient_id)):
        yield Entry(deviation.occurred_at, "deviation", deviation.id, deviation.course_id,
                    deviation.kind.replace("_", " "),
                    deviation.evidence | {"minutes": deviation.minutes})
