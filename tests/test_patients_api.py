from opsbackend.models import AuditEvent, Contact, Home, Patient
from tests.factories import count_rows

TABLES = ("patient", "home", "contact")


def patient_body(site_id, **overrides):
    return {
        "site_id": site_id,
        "study_code": "AALL-0042",
        "first_name": "Mateo",
        "date_of_birth": "2025-09-01",
        "weight_kg": 7.9,
        "language": "es",
        "home": {
            "address_line1": "1200 W 7th St",
            "city": "Los Angeles",
            "state": "CA",
            "postal_code": "90017",
            "lat": 34.0522,
            "lon": -118.2585,
            "landline_phone": "213-555-0190",
        },
        "contacts": [
            {"name": "Lucia", "relationship": "mother", "phone": "213 555 0111", "language": "es"}
        ],
    } | overrides


def test_dispatcher_enrols_a_patient_with_home_and_contact(client, auth, factory, database):
    site = factory.site()

    response = client.post(
        "/api/v1/patients", json=patient_body(site.id), headers=auth("dispatcher")
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert body["home"]["geocode_status"] == "manual"
    assert body["home"]["landline_phone"] == "+12135550190"
    assert body["contacts"][0]["phone"] == "+12135550111"
    assert body["contacts"][0]["quiet_hours_start"] == "21:00:00"
    with database.new_session() as session:
        assert session.get(Patient, body["id"]).home.city == "Los Angeles"


def test_an_answer_lists_its_fields_in_the_schema_order(client, auth, factory):
    """id first, as the OpenAPI document lists them; not sorted by name."""
    response = client.post("/api/v1/patients", json=patient_body(factory.site().id),
                           headers=auth("dispatcher"))

    assert list(response.json)[:3] == ["id", "site_id", "study_code"]


def test_an_invalid_contact_phone_is_a_422_naming_the_field(client, auth, factory, database):
    site = factory.site()
    body = patient_body(site.id)
    body["contacts"][0]["phone"] = "555-12"

    response = client.post("/api/v1/patients", json=body, headers=auth("dispatcher"))

    assert response.status_code == 422
    assert "phone" in response.json["errors"]["json"]["contacts"]["0"]
    assert count_rows(database, Patient) == 0


def test_a_patient_needs_a_date_of_birth_or_an_age(client, auth, factory):
    site = factory.site()
    body = patient_body(site.id)
    del body["date_of_birth"]

    response = client.post("/api/v1/patients", json=body, headers=auth("dispatcher"))

    assert response.status_code == 422
    assert "date_of_birth" in response.json["errors"]["json"]


def test_a_future_birth_date_is_refused(client, auth, factory):
    site = factory.site()

    response = client.post(
        "/api/v1/patients",
        json=patient_body(site.id, date_of_birth="2030-01-01"),
        headers=auth("dispatcher"),
    )

    assert response.status_code == 422
    assert "date_of_birth" in response.json["errors"]["json"]


def test_an_unknown_site_is_a_422_naming_site_id_and_writes_nothing(client, auth, database):
    response = client.post(
        "/api/v1/patients", json=patient_body(404), headers=auth("dispatcher")
    )

    assert response.status_code == 422
    assert "site_id" in response.json["errors"]["json"]
    for model in (Patient, Home, Contact):
        assert count_rows(database, model) == 0
    assert count_rows(database, AuditEvent, AuditEvent.table_name.in_(TABLES)) == 0


def test_a_study_code_is_unique_per_site_only(client, auth, factory, database):
    first, second = factory.site(), factory.site()
    headers = auth("dispatcher")
    client.post("/api/v1/patients", json=patient_body(first.id), headers=headers)

    same_site = client.post("/api/v1/patients", json=patient_body(first.id), headers=headers)
    other_site = client.post("/api/v1/patients", json=patient_body(second.id), headers=headers)

    assert same_site.status_code == 409
    assert "study_code" in same_site.json["errors"]["json"]
    assert other_site.status_code == 201
    assert count_rows(database, Patient) == 2
    assert count_rows(database, Contact) == 2


def test_lat_without_lon_is_refused(client, auth, factory):
    body = patient_body(factory.site().id)
    del body["home"]["lon"]

    response = client.post("/api/v1/patients", json=body, headers=auth("dispatcher"))

    assert response.status_code == 422
    assert "lat" in response.json["errors"]["json"]["home"]


def test_patch_edits_the_home_in_place(client, auth, factory, database):
    patient = factory.patient()

    response = client.patch(
        f"/api/v1/patients/{patient.id}",
        json={"weight_kg": 19.0, "home": {"city": "Altadena"}},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 200
    assert response.json["weight_kg"] == 19.0
    assert response.json["home"]["city"] == "Altadena"
    assert response.json["home"]["address_line1"] == patient.home.address_line1
    assert count_rows(database, Home) == 1


def test_a_new_home_by_patch_needs_an_address(client, auth, factory):
    patient = factory.patient(home=None)

    response = client.patch(
        f"/api/v1/patients/{patient.id}", json={"home": {"city": "Altadena"}},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 422
    assert "home.address_line1" in response.json["errors"]["json"]


def test_contacts_can_be_added_changed_and_removed(client, auth, factory, database):
    patient = factory.patient(contacts=[])
    headers = auth("dispatcher")
    base = f"/api/v1/patients/{patient.id}/contacts"

    added = client.post(
        base, json={"name": "Ana", "relationship": "aunt", "phone": "+16095550120"},
        headers=headers,
    )
    changed = client.patch(
        f"{base}/{added.json['id']}", json={"language": "es", "quiet_hours_start": "20:30"},
        headers=headers,
    )
    listed = client.get(base, headers=headers)
    removed = client.delete(f"{base}/{added.json['id']}", headers=headers)

    assert added.status_code == 201
    assert changed.json["language"] == "es" and changed.json["quiet_hours_start"] == "20:30:00"
    assert [c["name"] for c in listed.json] == ["Ana"]
    assert removed.status_code == 204
    assert count_rows(database, Contact) == 0


def test_a_contact_of_another_patient_is_not_found(client, auth, factory):
    mine, theirs = factory.patient(), factory.patient()
    contact_id = theirs.contacts[0].id

    response = client.patch(
        f"/api/v1/patients/{mine.id}/contacts/{contact_id}", json={"name": "X"},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 404


def test_the_same_phone_twice_on_one_patient_is_a_409(client, auth, factory):
    patient = factory.patient()

    response = client.post(
        f"/api/v1/patients/{patient.id}/contacts",
        json={"name": "Dup", "relationship": "father", "phone": patient.contacts[0].phone},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 409
    assert "phone" in response.json["errors"]["json"]


def test_an_eleventh_contact_is_a_409_naming_contacts_and_adds_nothing(client, auth, factory,
                                                                        database):
    """Found by the long fuzz: contacts added one by one passed the document's maxItems 10,
    and every later read of the patient broke its own schema."""
    patient = factory.patient()  # one contact
    added = [client.post(f"/api/v1/patients/{patient.id}/contacts",
                         json={"name": f"Aunt {n}", "relationship": "aunt",
                               "phone": f"+1626555{n:04d}"}, headers=auth("dispatcher"))
             for n in range(9100, 9110)]

    assert [r.status_code for r in added] == [201] * 9 + [409]
    assert "contacts" in added[-1].json["errors"]["json"]
    assert count_rows(database, Contact, Contact.patient_id == patient.id) == 10


def test_patients_filter_by_site_and_status(client, auth, factory):
    site = factory.site()
    factory.patient(site_id=site.id)
    factory.patient(site_id=site.id, status="withdrawn")
    factory.patient()

    response = client.get(
        f"/api/v1/patients?site_id={site.id}&status=active", headers=auth("viewer")
    )

    assert response.json["total"] == 1
    assert response.json["items"][0]["site_id"] == site.id
