"""The webhook events the domain emits, one function per kind of record.

Each is called once, in the domain function where the thing happens (a bag change, an
alert raised, a visit assigned...), so SMS, voice, the API, the board and the jobs all
emit the same event. Bodies carry ids and study codes, never names or phone numbers.
"""

from sqlmodel import Session

from opsbackend.domain.interop.webhooks import emit
from opsbackend.models import Alert, Bag, Contact, Course, Deviation, Patient, Visit

VISIT_EVENTS = ("visit.assigned", "visit.eta_changed", "visit.arrived", "visit.completed",
                "visit.cancelled")
ALERT_EVENTS = ("alert.raised", "alert.acknowledged", "alert.resolved")


def visit_event(session: Session, event_type: str, visit: Visit) -> int:
    assert event_type in VISIT_EVENTS
    patient = session.get(Patient, visit.patient_id)
    return emit(session, event_type, site_id=patient.site_id, data={
        "visit_id": visit.id, "visit_code": f"V{visit.id}", "kind": visit.kind,
        "status": visit.status, "patient_id": patient.id, "study_code": patient.study_code,
        "course_id": visit.course_id, "bag_id": visit.bag_id, "unit_id": visit.unit_id,
        "window_start": visit.window_start, "window_end": visit.window_end, "eta": visit.eta,
        "arrived_at": visit.arrived_at, "completed_at": visit.completed_at,
    })


def alert_event(session: Session, event_type: str, alert: Alert) -> int:
    assert event_type in ALERT_EVENTS
    patient = session.get(Patient, alert.patient_id) if alert.patient_id else None
    return emit(session, event_type, site_id=alert.site_id, data={
        "alert_id": alert.id, "ref": f"A{alert.id}", "kind": alert.kind,
        "status": alert.status, "severity": alert.severity, "summary": alert.summary,
        "patient_id": alert.patient_id, "study_code": patient.study_code if patient else None,
        "course_id": alert.course_id, "bag_id": alert.bag_id, "visit_id": alert.visit_id,
        "raised_at": alert.raised_at, "acknowledged_at": alert.acknowledged_at,
        "resolved_at": alert.resolved_at, "resolution": alert.resolution,
    })


def bag_changed(session: Session, course: Course, old: Bag, new: Bag) -> int:
    patient = session.get(Patient, course.patient_id)
    return emit(session, "bag.changed", site_id=patient.site_id, data={
        "course_id": course.id, "patient_id": patient.id, "study_code": patient.study_code,
        "old_bag": {"bag_id": old.id, "sequence": old.sequence, "hung_at": old.hung_at,
                    "due_at": old.due_at, "changed_at": old.changed_at,
                    "timing": old.change_timing_flag,
                    "no_flush_confirmed": old.no_flush_confirmed},
        "new_bag": {"bag_id": new.id, "sequence": new.sequence, "hung_at": new.hung_at,
                    "due_at": new.due_at, "volume_ml": new.volume_ml, "lot": new.lot,
                    "expires_at": new.expires_at, "pharmacy_bag_id": new.pharmacy_bag_id,
                    "prepared_bag_id": new.prepared_bag_id},
        "nurse_id": new.hung_by_nurse_id,
        "double_check": {"nurse_id": new.double_check_nurse_id,
                         "contact_id": new.double_check_contact_id},
        "warnings": [warning["code"] for warning in new.warnings],
    })


def deviation_recorded(session: Session, deviation: Deviation, study_code: str) -> int:
    return emit(session, "deviation.recorded", site_id=deviation.site_id, data={
        "deviation_id": deviation.id, "kind": deviation.kind, "patient_id": deviation.patient_id,
        "study_code": study_code, "course_id": deviation.course_id, "bag_id": deviation.bag_id,
        "visit_id": deviation.visit_id, "occurred_at": deviation.occurred_at,
        "minutes": deviation.minutes, "evidence": deviation.evidence,
    })


def contact_opted_out(session: Session, contact: Contact) -> int:
    patient = session.get(Patient, contact.patient_id)
    return emit(session, "contact.opted_out", site_id=patient.site_id, data={
        "contact_id": contact.id, "patient_id": patient.id, "study_code": patient.study_code,
        "relationship": contact.relationship, "opted_out_at": contact.opted_out_at,
    })
