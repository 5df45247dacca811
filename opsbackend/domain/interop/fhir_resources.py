"""One FHIR R4 resource per record, as plain dicts; ``fhir_export`` validates them with
the fhir.resources models (R4B 4.3.0, whose resources used here are R4's).

Ids are the record's kind and key (``MedicationAdministration/bag-12``), so every
reference inside an export resolves to an entry of the same bundle. What a viewer may
not see (names, birth dates, addresses, phones) and SMS bodies (dispatchers and admins
only) are left out by ``Visibility``.
"""

from dataclasses import dataclass
from datetime import datetime

from opsbackend.models import (
    Bag,
    Contact,
    Course,
    Deviation,
    InboundMessage,
    Nurse,
    OutboundMessage,
    Patient,
    PumpReport,
    Site,
    Unit,
    Visit,
)

OWN = "urn:opsbackend"  # code systems of our own values (visit kinds, pump states, ...)
UCUM = "http://unitsofmeasure.org"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
PERFORMER_FUNCTION = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LOCATION_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
# R4 Appointment.status for each visit status.
APPOINTMENT_STATUS = {"unassigned": "pending", "assigned": "booked", "en_route": "booked",
                      "on_site": "arrived", "completed": "fulfilled",
                      "cancelled": "cancelled", "missed": "noshow"}
# R4 Communication.status (event-status) for each outbound SMS status.
COMMUNICATION_STATUS = {"queued": "preparation", "sending": "in-progress",
                        "sent": "in-progress", "delivered": "completed",
                        "undelivered": "not-done", "failed": "not-done",
                        "suppressed": "not-done"}
DEVIATION_SEVERITY = {"infusion_interruption": "high", "missed_visit": "high",
                      "bag_expired": "high", "bag_temperature_excursion": "high",
                      "bag_volume_short": "high"}


@dataclass(frozen=True)
class Visibility:
    """What the caller's role may read: identity for staff, SMS bodies for the desk."""

    identity: bool
    message_bodies: bool

    @classmethod
    def for_role(cls, role: str) -> "Visibility":
        return cls(identity=role in ("admin", "dispatcher", "nurse", "system"),
                   message_bodies=role in ("admin", "dispatcher", "system"))


def ref(kind: str, key) -> dict:
    return {"reference": f"{kind}/{key}"}


def patient(p: Patient, site: Site, system: str, see: Visibility) -> dict:
    resource = {
        "resourceType": "Patient", "id": str(p.id),
        "identifier": [{"use": "official", "system": system, "value": p.study_code,
                        "type": {"text": "trial study code"},
                        "assigner": ref("Organization", f"site-{site.id}")}],
        "active": p.status in ("active", "on_hold"),
        "managingOrganization": ref("Organization", f"site-{site.id}"),
        "communication": [{"language": _language(p.language), "preferred": True}],
    }
    if see.identity:
        if p.first_name:
            resource["name"] = [{"use": "usual", "given": [p.first_name]}]
        if p.date_of_birth:
            resource["birthDate"] = p.date_of_birth.isoformat()
        if p.home is not None:
            home = p.home
            resource["address"] = [{
                "use": "home", "line": [x for x in (home.address_line1, home.address_line2) if x],
                "city": home.city, "state": home.state, "postalCode": home.postal_code,
                "country": home.country}]
            if home.landline_phone:
                resource["telecom"] = [{"system": "phone", "value": home.landline_phone,
                                        "use": "home"}]
    return _clean(resource)


def organization(site: Site) -> dict:
    return {"resourceType": "Organization", "id": f"site-{site.id}", "active": site.active,
            "identifier": [{"system": f"{OWN}:site", "value": site.code}], "name": site.name}


def related_person(contact: Contact, see: Visibility) -> dict:
    resource = {"resourceType": "RelatedPerson", "id": f"contact-{contact.id}",
                "patient": ref("Patient", contact.patient_id),
                "relationship": [{"text": contact.relationship}],
                "communication": [{"language": _language(contact.language)}]}
    if see.identity:
        resource["name"] = [{"text": contact.name}]
        resource["telecom"] = [{"system": "sms", "value": contact.phone, "use": "mobile"}]
    return resource


def practitioner(nurse: Nurse, see: Visibility) -> dict:
    resource = {"resourceType": "Practitioner", "id": f"nurse-{nurse.id}",
                "active": nurse.active,
                "identifier": [{"system": f"{OWN}:nurse", "value": str(nurse.id)}]}
    if see.identity:
        resource["name"] = [{"text": nurse.name}]
    return resource


def location(unit: Unit) -> dict:
    """A mobile infusion unit: a van, so a Location of physical type vehicle."""
    return {"resourceType": "Location", "id": f"unit-{unit.id}", "name": unit.call_sign,
            "mode": "instance", "status": "active",
            "description": "mobile infusion unit",
            "physicalType": {"coding": [{"system": LOCATION_TYPE, "code": "ve",
                                         "display": "Vehicle"}]},
            "managingOrganization": ref("Organization", f"site-{unit.site_id}")}


def device(course: Course) -> dict:
    """The course's ambulatory pump: model and serial number."""
    return _clean({
        "resourceType": "Device", "id": f"pump-{course.id}",
        "status": "active" if course.status in ("scheduled", "active", "paused") else "inactive",
        "type": {"text": "ambulatory infusion pump"},
        "deviceName": [{"name": course.pump_model, "type": "model-name"}]
        if course.pump_model else None,
        "modelNumber": course.pump_model, "serialNumber": course.pump_serial,
        "patient": ref("Patient", course.patient_id),
    })


def medication_administration(bag: Bag, course: Course, has_pump: bool) -> dict:
    """One bag: the drug (with the bag's lot and expiry), the rate, hung to taken down,
    the nurse who hung it and who double-checked it."""
    medication = {"resourceType": "Medication", "id": "medication",
                  "code": {"text": course.drug}}
    if bag.lot or bag.expires_at:
        medication["batch"] = _clean({"lotNumber": bag.lot,
                                      "expirationDate": _instant(bag.expires_at)})
    performers = []
    if bag.hung_by_nurse_id:
        performers.append({"actor": ref("Practitioner", f"nurse-{bag.hung_by_nurse_id}")})
    checker = (ref("Practitioner", f"nurse-{bag.double_check_nurse_id}")
               if bag.double_check_nurse_id else
               ref("RelatedPerson", f"contact-{bag.double_check_contact_id}")
               if bag.double_check_contact_id else None)
    if checker:
        performers.append({"function": {"coding": [{"system": PERFORMER_FUNCTION,
                                                    "code": "verifier"}],
                                        "text": "independent double check"},
                           "actor": checker})
    notes = [w["message"] for w in bag.warnings]
    return _clean({
        "resourceType": "MedicationAdministration", "id": f"bag-{bag.id}",
        "identifier": [{"system": f"{OWN}:bag", "value": str(bag.id)}]
        + ([{"system": f"{OWN}:pharmacy-bag-id", "value": bag.pharmacy_bag_id}]
           if bag.pharmacy_bag_id else []),
        "status": _administration_status(bag, course),
        "statusReason": [{"text": bag.end_reason}] if bag.end_reason not in (None, "changed")
        else None,
        "contained": [medication],
        "medicationReference": {"reference": "#medication"},
        "subject": ref("Patient", course.patient_id),
        "effectivePeriod": _clean({"start": _instant(bag.hung_at),
                                   "end": _instant(bag.changed_at)}),
        "performer": performers or None,
        "device": [ref("Device", f"pump-{course.id}")] if has_pump else None,
        "dosage": _clean({
            "text": f"bag {bag.sequence}: {course.bag_interval_hours} h continuous infusion"
                    + (f", {bag.volume_ml:g} mL bag" if bag.volume_ml else ""),
            "route": {"text": "intravenous"},
            "rateQuantity": {"value": course.rate_ml_per_hour, "unit": "mL/h",
                             "system": UCUM, "code": "mL/h"},
        }),
        "note": [{"text": f"WARNING: {note}"} for note in notes] or None,
    })


def appointment(visit: Visit) -> dict:
    participants = [{"actor": ref("Patient", visit.patient_id), "required": "required",
                     "status": "accepted"}]
    if visit.unit_id:
        participants.append({"actor": ref("Location", f"unit-{visit.unit_id}"),
                             "required": "required", "status": "accepted"})
    happened = [f"{label} {_instant(at)}" for label, at in
                (("ETA", visit.eta), ("arrived", visit.arrived_at),
                 ("completed", visit.completed_at)) if at]
    return _clean({
        "resourceType": "Appointment", "id": f"visit-{visit.id}",
        "identifier": [{"system": f"{OWN}:visit", "value": f"V{visit.id}"}],
        "status": APPOINTMENT_STATUS[visit.status],
        "serviceType": [{"coding": [{"system": f"{OWN}:visit-kind", "code": visit.kind}],
                         "text": visit.kind.replace("_", " ")}],
        "description": f"{visit.kind.replace('_', ' ')} at home",
        "start": _instant(visit.window_start), "end": _instant(visit.window_end),
        "minutesDuration": visit.service_minutes,
        "requestedPeriod": [{"start": _instant(visit.window_start),
                             "end": _instant(visit.window_end)}],
        "comment": ", ".join(happened) or None,
        "participant": participants,
    })


def sent_sms(message: OutboundMessage, patient_id: int, site_id: int, recipient: dict,
             see: Visibility) -> dict:
    reason = message.suppressed_reason or message.last_error_code
    return _clean({
        "resourceType": "Communication", "id": f"sms-out-{message.id}",
        "identifier": [{"system": f"{OWN}:outbound-sms", "value": str(message.id)}],
        "status": COMMUNICATION_STATUS[message.status],
        "statusReason": {"text": reason} if reason and message.status in (
            "suppressed", "failed", "undelivered") else None,
        "category": [{"coding": [{"system": f"{OWN}:message-purpose",
                                  "code": message.purpose}]}],
        "medium": [_sms_medium()], "subject": ref("Patient", patient_id),
        "topic": {"text": message.template},
        "sent": _instant(message.sent_at),
        "received": _instant(message.delivered_at),
        "recipient": [recipient],
        "sender": ref("Organization", f"site-{site_id}"),
        "payload": [{"contentString": message.body}] if see.message_bodies else None,
    })


def received_sms(message: InboundMessage, patient_id: int, site_id: int, sender: dict,
                 see: Visibility) -> dict:
    return _clean({
        "resourceType": "Communication", "id": f"sms-in-{message.id}",
        "identifier": [{"system": f"{OWN}:inbound-sms", "value": str(message.id)}],
        "status": "completed", "medium": [_sms_medium()],
        "subject": ref("Patient", patient_id),
        "topic": {"text": message.handled_as} if message.handled_as else None,
        "received": _instant(message.received_at),
        "sender": sender, "recipient": [ref("Organization", f"site-{site_id}")],
        "payload": [{"contentString": message.body}] if see.message_bodies else None,
    })


def sms_reply(message: InboundMessage, patient_id: int, site_id: int, recipient: dict,
              see: Visibility) -> dict:
    """Our answer to an inbound SMS, given in the webhook's response (TwiML)."""
    return _clean({
        "resourceType": "Communication", "id": f"sms-reply-{message.id}",
        "status": "completed", "medium": [_sms_medium()],
        "inResponseTo": [ref("Communication", f"sms-in-{message.id}")],
        "subject": ref("Patient", patient_id), "sent": _instant(message.received_at),
        "sender": ref("Organization", f"site-{site_id}"), "recipient": [recipient],
        "payload": [{"contentString": message.reply_body}] if see.message_bodies else None,
    })


def pump_observation(report: PumpReport, patient_id: int, has_pump: bool) -> dict:
    state = report.status + (f": {report.alarm_type.replace('_', ' ')}"
                             if report.alarm_type else "")
    components = [
        _component("volume infused", report.volume_infused_ml, "mL", "mL"),
        _component("volume remaining", report.volume_remaining_ml, "mL", "mL"),
        _component("battery", report.battery_pct, "%", "%"),
        _component("rate", report.rate_ml_per_hour, "mL/h", "mL/h"),
    ]
    return _clean({
        "resourceType": "Observation", "id": f"pump-report-{report.id}", "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "therapy"}]}],
        "code": {"coding": [{"system": f"{OWN}:observation", "code": "pump-status"}],
                 "text": "infusion pump status"},
        "subject": ref("Patient", patient_id),
        "effectiveDateTime": _instant(report.reported_at),
        "performer": [ref("Practitioner", f"nurse-{report.reported_by_nurse_id}")]
        if report.reported_by_nurse_id else None,
        "device": ref("Device", f"pump-{report.course_id}") if has_pump else None,
        "valueCodeableConcept": {"coding": [{"system": f"{OWN}:pump-status",
                                             "code": report.status}], "text": state},
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": "A",
                                        "display": "Abnormal"}]}]
        if report.status == "alarm" else None,
        "component": [c for c in components if c] or None,
        "note": [{"text": f"flags: {', '.join(report.flags)}"}] if report.flags else None,
    })


def detected_issue(deviation: Deviation) -> dict:
    """A protocol deviation as a DetectedIssue: an issue with the clinical actions (the
    bag's administration, the visit), not an AdverseEvent, which records harm to the
    patient that a late bag change or a missed visit does not establish."""
    implicated = []
    if deviation.bag_id:
        implicated.append(ref("MedicationAdministration", f"bag-{deviation.bag_id}"))
    if deviation.visit_id:
        implicated.append(ref("Appointment", f"visit-{deviation.visit_id}"))
    evidence = "; ".join(f"{k}={v}" for k, v in sorted(deviation.evidence.items()))
    return _clean({
        "resourceType": "DetectedIssue", "id": f"deviation-{deviation.id}",
        "identifier": [{"system": f"{OWN}:deviation", "value": str(deviation.id)}],
        "status": "final",
        "code": {"coding": [{"system": f"{OWN}:deviation-kind", "code": deviation.kind}],
                 "text": f"protocol deviation: {deviation.kind.replace('_', ' ')}"},
        "severity": DEVIATION_SEVERITY.get(deviation.kind, "moderate"),
        "patient": ref("Patient", deviation.patient_id),
        "identifiedDateTime": _instant(deviation.occurred_at),
        "implicated": implicated or None,
        "detail": (f"{deviation.minutes} min; " if deviation.minutes is not None else "")
        + evidence or None,
    })


def _administration_status(bag: Bag, course: Course) -> str:
    if bag.changed_at is None:
        return "on-hold" if course.status == "paused" else "in-progress"
    return "stopped" if bag.end_reason == "course_discontinued" else "completed"


def _component(label: str, value, unit: str, code: str) -> dict | None:
    if value is None:
        return None
    return {"code": {"text": label},
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": code}}


def _sms_medium() -> dict:
    return {"coding": [{"system": PARTICIPATION_MODE, "code": "ELECTRONIC"}], "text": "SMS"}


def _language(code: str) -> dict:
    return {"coding": [{"system": "urn:ietf:bcp:47", "code": code}]}


def _instant(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _clean(resource: dict) -> dict:
    """Leave out what is empty, at every depth: FHIR elements are absent, never null or ""
    (an address whose state is "" fails the resource's own validation)."""
    cleaned = {}
    for key, value in resource.items():
        if isinstance(value, dict):
            value = _clean(value)
        elif isinstance(value, list):
            value = [_clean(item) if isinstance(item, dict) else item for item in value]
            value = [item for item in value if item not in (None, {}, "")]
        if value not in (None, [], {}, ""):
            cleaned[key] = value
    return cleaned
