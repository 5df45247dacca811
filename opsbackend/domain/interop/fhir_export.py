"""The FHIR R4 export of one patient: the Patient alone, or everything about them (the
``$everything`` operation) as a searchset Bundle.

Every resource is validated by the fhir.resources models before it leaves (R4B 4.3.0:
the package ships no separate R4 models; the resources used here are unchanged from
R4 4.0.1). Site scoping as everywhere: a patient of another site does not exist for
the caller; what the caller's role may not read is left out (``Visibility``).
"""

from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import or_, select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.errors import NotFound
from opsbackend.domain.interop import fhir_resources as fhir
from opsbackend.domain.interop.fhir_resources import Visibility
from opsbackend.domain.scope import Scope
from opsbackend.models import (
    Alert,
    Bag,
    CheckIn,
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

DEFAULT_IDENTIFIER_SYSTEM = "urn:opsbackend:site:{site_code}:study-code"
MODELS = ("Bundle", "OperationOutcome", "Patient", "Organization", "RelatedPerson",
          "Practitioner", "Location", "Device", "MedicationAdministration", "Observation",
          "Appointment", "Communication", "DetectedIssue")


def load_models() -> None:
    """Import the fhir.resources models now (about 3 s of pydantic schema building on
    this machine) rather than in a worker's first export."""
    for name in MODELS:
        get_fhir_model_class(name)


def patient_resource(session: Session, scope: Scope, patient_id: int,
                     identifier_system: str = DEFAULT_IDENTIFIER_SYSTEM) -> dict:
    patient, site = _patient_in_scope(session, scope, patient_id)
    return validated(fhir.patient(patient, site, identifier_system.format(site_code=site.code),
                                  Visibility.for_role(scope.role)))


def everything(session: Session, scope: Scope, clock: Clock, patient_id: int, base_url: str,
               identifier_system: str = DEFAULT_IDENTIFIER_SYSTEM) -> dict:
    """The patient and what happened to their infusion, each reference resolving inside
    the bundle. ``base_url`` is the FHIR base the entries' fullUrls are under."""
    patient, site = _patient_in_scope(session, scope, patient_id)
    see = Visibility.for_role(scope.role)
    resources = [fhir.patient(patient, site, identifier_system.format(site_code=site.code),
                              see), fhir.organization(site)]
    resources += _clinical(session, patient, site, see)
    entries = [{"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r,
                "search": {"mode": "match" if r["resourceType"] == "Patient" else "include"}}
               for r in resources]
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": 1,
              "timestamp": clock.now().isoformat(),
              "link": [{"relation": "self",
                        "url": f"{base_url}/Patient/{patient.id}/$everything"}],
              "entry": entries}
    # Each resource through its model, then the envelope around the validated models
    # (pydantic does not validate a model instance twice).
    checked = [entry | {"resource": _model(entry["resource"])} for entry in entries]
    _model(bundle | {"entry": checked})
    return bundle


def validated(resource: dict) -> dict:
    """The resource, once its fhir.resources model accepted it (raises if invalid)."""
    _model(resource)
    return resource


def _model(resource: dict):
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def _clinical(session, patient: Patient, site: Site, see: Visibility) -> list[dict]:
    courses = list(session.scalars(select(Course).where(Course.patient_id == patient.id)
                                   .order_by(Course.id)))
    by_id = {course.id: course for course in courses}
    pumps = {course.id for course in courses if course.pump_model or course.pump_serial}
    bags = list(session.scalars(select(Bag).where(Bag.course_id.in_(by_id))
                                .order_by(Bag.course_id, Bag.sequence)))
    reports = list(session.scalars(select(PumpReport).where(PumpReport.course_id.in_(by_id))
                                   .order_by(PumpReport.reported_at, PumpReport.id)))
    visits = list(session.scalars(select(Visit).where(Visit.patient_id == patient.id)
                                  .order_by(Visit.window_start, Visit.id)))
    deviations = list(session.scalars(select(Deviation).where(
        Deviation.patient_id == patient.id).order_by(Deviation.occurred_at, Deviation.id)))
    contacts = list(patient.contacts)
    communications, nurse_ids = _communications(session, patient, site, courses, visits,
                                                contacts, see)
    nurse_ids |= {n for bag in bags for n in (bag.hung_by_nurse_id, bag.double_check_nurse_id)}
    nurse_ids |= {report.reported_by_nurse_id for report in reports}
    nurse_ids.discard(None)
    unit_ids = {visit.unit_id for visit in visits if visit.unit_id}
    return [
        *(fhir.related_person(contact, see) for contact in contacts),
        *(fhir.practitioner(nurse, see) for nurse in _by_ids(session, Nurse, nurse_ids)),
        *(fhir.location(unit) for unit in _by_ids(session, Unit, unit_ids)),
        *(fhir.device(by_id[course_id]) for course_id in sorted(pumps)),
        *(fhir.medication_administration(bag, by_id[bag.course_id], bag.course_id in pumps)
          for bag in bags),
        *(fhir.pump_observation(report, patient.id, report.course_id in pumps)
          for report in reports),
        *(fhir.appointment(visit) for visit in visits),
        *communications,
        *(fhir.detected_issue(deviation) for deviation in deviations),
    ]


def _communications(session, patient, site, courses, visits, contacts, see):
    """SMS sent about the patient (to the family, to nurses and the desk about their
    visits, bags and alerts) and SMS received from the family or as a check-in."""
    contact_ids = [contact.id for contact in contacts]
    alert_ids = select(Alert.id).where(Alert.patient_id == patient.id)
    sent = session.scalars(select(OutboundMessage).where(or_(
        OutboundMessage.contact_id.in_(contact_ids),
        OutboundMessage.course_id.in_([course.id for course in courses]),
        OutboundMessage.visit_id.in_([visit.id for visit in visits]),
        OutboundMessage.alert_id.in_(alert_ids),
    )).order_by(OutboundMessage.id)).all()
    check_in_messages = select(CheckIn.inbound_message_id).where(
        CheckIn.patient_id == patient.id, CheckIn.inbound_message_id.is_not(None))
    received = session.scalars(select(InboundMessage).where(or_(
        InboundMessage.contact_id.in_(contact_ids),
        InboundMessage.id.in_(check_in_messages),
    )).order_by(InboundMessage.id)).all()
    by_phone = {contact.phone: contact.id for contact in contacts}
    nurse_ids = set()

    def party(contact_id, nurse_id, phone) -> dict:
        if contact_id in contact_ids or phone in by_phone:
            return fhir.ref("RelatedPerson", f"contact-{contact_id or by_phone[phone]}")
        if contact_id is not None:
            return {"display": "family contact (no longer on record)"}
        if nurse_id is not None:
            nurse_ids.add(nurse_id)
            return fhir.ref("Practitioner", f"nurse-{nurse_id}")
        role = "dispatch desk" if phone == site.dispatch_phone else \
            "on-call phone" if phone == site.on_call_phone else "staff phone"
        return fhir.ref("Organization", f"site-{site.id}") | {"display": role}

    resources = [fhir.sent_sms(message, patient.id, site.id,
                               party(message.contact_id, message.nurse_id, message.to_phone),
                               see) for message in sent]
    for message in received:
        sender = party(message.contact_id, message.nurse_id, message.from_phone)
        resources.append(fhir.received_sms(message, patient.id, site.id, sender, see))
        if message.reply_body:
            resources.append(fhir.sms_reply(message, patient.id, site.id, sender, see))
    return resources, nurse_ids


def _patient_in_scope(session, scope: Scope, patient_id: int) -> tuple[Patient, Site]:
    patient = session.get(Patient, patient_id)
    if patient is None or not scope.covers(patient.site_id):
        raise NotFound(f"Patient {patient_id} does not exist")
    return patient, session.get(Site, patient.site_id)


def _by_ids(session, model, ids) -> list:
    if not ids:
        return []
    return list(session.scalars(select(model).where(model.id.in_(ids)).order_by(model.id)))
