"""The FHIR R4 export of a demo patient: every resource valid against fhir.resources,
every reference resolving inside the bundle, what each role may see, errors as
OperationOutcome."""

import re

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select

from opsbackend.demo import seed_demo
from opsbackend.domain.errors import NotFound
from opsbackend.domain.interop import fhir_export
from opsbackend.domain.scope import Scope
from opsbackend.models import Patient
from tests.conftest import TEST_SECRET
from tests.phone import reply_text, sms

ROSA = "+12135550131"  # the demo nurse on WEST-1, whose visit is W-001's
LUCIA = "+12135550111"  # W-001's mother
RESOURCE_TYPES = {"Patient", "Organization", "RelatedPerson", "Practitioner", "Location",
                  "Device", "MedicationAdministration", "Observation", "Appointment",
                  "Communication", "DetectedIssue"}


@pytest.fixture
def demo_patient(database, client, clock) -> int:
    """Demo patient W-001 after a visit: arrived, a pump alarm, a bag changed with its lot
    (short of volume: a warning and a deviation), left, the family's YES, and the SMS."""
    with database.transaction(actor="test:demo") as session:
        seed_demo(session, clock, TEST_SECRET)
        patient_id = session.scalars(select(Patient.id).where(
            Patient.study_code == "W-001")).one()
    clock.advance(hours=3)
    for sender, body in ((ROSA, "LLEGUE"), (ROSA, "BOMBA ALARMA OCLUSION 80%"),
                         (ROSA, "CAMBIO 250 LOTE A1234 SIN LAVAR"), (ROSA, "LISTO"),
                         (LUCIA, "SI")):
        reply = reply_text(sms(client, sender, body))
        assert reply.startswith(("Registrado", "Gracias")), reply
    return patient_id


def everything(client, auth, patient_id, role="dispatcher"):
    return client.get(f"/api/v1/fhir/Patient/{patient_id}/$everything",
                      headers=auth(role) | {"Accept": "application/fhir+json"})


def test_the_demo_patients_bundle_validates_resource_by_resource(client, auth, demo_patient):
    response = everything(client, auth, demo_patient)

    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    bundle = response.get_json(force=True)
    assert (bundle["resourceType"], bundle["type"], bundle["total"]) == ("Bundle",
                                                                         "searchset", 1)
    get_fhir_model_class("Bundle").model_validate(bundle)
    resources = [entry["resource"] for entry in bundle["entry"]]
    for resource in resources:  # each on its own, by its own model
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert {r["resourceType"] for r in resources} == RESOURCE_TYPES
    by_type = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    [patient] = by_type["Patient"]
    assert patient["identifier"][0] == patient["identifier"][0] | {
        "system": "urn:opsbackend:site:CHLA:study-code", "value": "W-001"}
    [device] = by_type["Device"]
    assert (device["serialNumber"], device["deviceName"][0]["name"]) == ("CS-W-001",
                                                                         "CADD-Solis")
    bags = {r["id"]: r for r in by_type["MedicationAdministration"]}
    assert [r["status"] for r in bags.values()] == ["completed", "in-progress"]
    hung = list(bags.values())[1]
    assert hung["contained"][0]["batch"]["lotNumber"] == "A1234"
    assert hung["dosage"]["rateQuantity"] == {"value": 10.0, "unit": "mL/h",
                                              "system": "http://unitsofmeasure.org",
                                              "code": "mL/h"}
    assert hung["performer"][0]["actor"]["reference"].startswith("Practitioner/nurse-")
    assert any("alarm" in r["valueCodeableConcept"]["text"] for r in by_type["Observation"])
    assert "fulfilled" in {r["status"] for r in by_type["Appointment"]}
    assert {r["code"]["coding"][0]["code"] for r in by_type["DetectedIssue"]} == {
        "bag_volume_short"}
    assert len(by_type["Communication"]) >= 5  # 4 texts in, the dispatcher's alert out


def test_every_reference_in_the_bundle_resolves_inside_it(client, auth, demo_patient):
    bundle = everything(client, auth, demo_patient).get_json(force=True)
    entries = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e
               for e in bundle["entry"]}

    checked = 0
    for key, entry in entries.items():
        assert entry["fullUrl"].endswith(f"/api/v1/fhir/{key}")
        contained = {f"#{c['id']}" for c in entry["resource"].get("contained", [])}
        for reference in references(entry["resource"]):
            target = contained if reference.startswith("#") else entries
            assert reference in target, f"{key} refers to {reference}, not in the bundle"
            checked += 1
    assert checked > 30
    assert len(entries) == len(bundle["entry"])  # no resource twice


def test_a_viewer_gets_no_names_birth_dates_addresses_phones_or_sms_bodies(client, auth,
                                                                          demo_patient):
    viewer = everything(client, auth, demo_patient, "viewer").get_data(as_text=True)
    nurse = everything(client, auth, demo_patient, "nurse").get_json(force=True)
    dispatcher = everything(client, auth, demo_patient).get_json(force=True)

    for private in ("Mateo", "Lucia", "Rosa", "1200 W 7th St", "birthDate", "+1213555",
                    "contentString", '"telecom"', '"address"'):
        assert private not in viewer, private
    assert "Mateo" in str(nurse) and "contentString" not in str(nurse)  # staff, not the desk
    bodies = [p["contentString"] for e in dispatcher["entry"]
              for p in e["resource"].get("payload", [])]
    assert "SI" in bodies and "LLEGUE" in bodies  # received
    assert any(body.startswith("Registrado") for body in bodies)  # our replies


def test_the_patient_alone_and_errors_as_operation_outcome(client, auth, database,
                                                           demo_patient):
    patient = client.get(f"/api/v1/fhir/Patient/{demo_patient}", headers=auth("viewer"))
    missing = client.get("/api/v1/fhir/Patient/999999", headers=auth("viewer"))
    anonymous = client.get(f"/api/v1/fhir/Patient/{demo_patient}/$everything")
    xml_only = client.get(f"/api/v1/fhir/Patient/{demo_patient}",
                          headers=auth("viewer") | {"Accept": "application/fhir+xml"})
    encoded = client.get(f"/api/v1/fhir/Patient/{demo_patient}/%24everything",
                         headers=auth("viewer"))

    assert patient.status_code == 200 and patient.get_json(force=True)["id"] == str(
        demo_patient)
    for response, status, code in ((missing, 404, "not-found"), (anonymous, 401, "login"),
                                   (xml_only, 406, "not-supported")):
        assert response.status_code == status
        assert response.mimetype == "application/fhir+json"
        outcome = response.get_json(force=True)
        get_fhir_model_class("OperationOutcome").model_validate(outcome)
        assert outcome["issue"][0]["code"] == code
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert encoded.status_code == 200
    # Elsewhere, errors stay our JSON errors.
    assert client.get("/api/v1/patients/999999", headers=auth("viewer")).json["code"] == 404


def test_a_patient_of_another_site_does_not_exist_for_the_caller(database, clock,
                                                                 demo_patient):
    elsewhere = Scope(role="dispatcher", site_ids=frozenset({99}))

    with database.new_session() as session, pytest.raises(NotFound):
        fhir_export.everything(session, elsewhere, clock, demo_patient, "http://x/fhir")


def references(node):
    """Every Reference.reference in a resource, however deep."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def test_references_walks_nested_elements():
    resource = {"a": [{"reference": "Patient/1"}, {"b": {"reference": "#x"}}],
                "reference_note": "text"}
    assert list(references(resource)) == ["Patient/1", "#x"]
    assert re.match(r"^[A-Za-z]+/[A-Za-z0-9\-.]{1,64}$", "Device/pump-1")
