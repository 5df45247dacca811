from opsbackend.models import AuditEvent, Patient
from tests.factories import count_rows
from tests.test_patients_api import patient_body


def events(client, auth, **filters):
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return client.get(f"/api/v1/audit-events?{query}", headers=auth("admin")).json["items"]


def test_a_create_records_actor_request_id_and_values(client, auth, factory):
    site = factory.site()
    response = client.post(
        "/api/v1/patients", json=patient_body(site.id), headers=auth("dispatcher")
        | {"X-Request-ID": "req-123"},
    )
    patient_id = response.json["id"]

    [created] = events(client, auth, table_name="patient", record_id=patient_id)

    assert created["action"] == "create"
    assert created["actor"].endswith("test dispatcher")
    assert created["request_id"] == "req-123"
    assert created["changes"]["after"]["study_code"] == "AALL-0042"
    assert created["changes"]["before"] is None
    tables = {e["table_name"] for e in events(client, auth, request_id="req-123")}
    assert {"patient", "home", "contact"} <= tables


def test_an_update_records_before_and_after_of_changed_fields_only(client, auth, factory):
    site = factory.site(name="Old")

    client.patch(f"/api/v1/sites/{site.id}", json={"name": "New"}, headers=auth("admin"))

    updates = events(client, auth, table_name="site", record_id=site.id, action="update")
    assert [u["changes"] for u in updates] == [
        {"before": {"name": "Old"}, "after": {"name": "New"}}
    ]


def test_a_delete_records_the_values_it_removed(client, auth, factory):
    patient = factory.patient()
    contact = patient.contacts[0]

    client.delete(f"/api/v1/patients/{patient.id}/contacts/{contact.id}",
                  headers=auth("dispatcher"))

    [deleted] = events(client, auth, table_name="contact", action="delete")
    assert deleted["record_id"] == str(contact.id)
    assert deleted["changes"]["before"]["phone"] == contact.phone


def test_each_resource_mutation_is_audited(client, auth, factory):
    headers = auth("admin")
    site = factory.site()
    unit = factory.unit(site_id=site.id)
    nurse = factory.nurse()
    course = factory.course()
    mutations = [
        ("site", site.id, client.patch(f"/api/v1/sites/{site.id}", json={"name": "B"},
                                       headers=headers)),
        ("unit", unit.id, client.patch(f"/api/v1/units/{unit.id}", json={"status": "off_duty"},
                                       headers=headers)),
        ("nurse", nurse.id, client.patch(f"/api/v1/nurses/{nurse.id}", json={"active": False},
                                         headers=headers)),
        ("course", course.id, client.patch(f"/api/v1/courses/{course.id}",
                                           json={"notes": "x"}, headers=headers)),
    ]
    for table, record_id, response in mutations:
        assert response.status_code == 200, (table, response.json)
        assert events(client, auth, table_name=table, record_id=record_id, action="update"), table


def test_token_hashes_never_reach_the_audit_trail(client, auth, factory):
    issued = client.post("/api/v1/tokens", json={"name": "Kim", "role": "viewer",
                                                 "site_ids": [factory.site().id]},
                         headers=auth("admin")).json

    [created] = events(client, auth, table_name="api_token", record_id=issued["id"])
    assert created["changes"]["after"]["token_hash"] == "[redacted]"


def test_a_refused_change_writes_neither_record_nor_event(client, auth, factory, database):
    site = factory.site()
    headers = auth("dispatcher")
    before = count_rows(database, AuditEvent)
    body = patient_body(site.id)
    body["contacts"].append(dict(body["contacts"][0]))  # same phone twice: 409 mid-way

    response = client.post("/api/v1/patients", json=body, headers=headers)

    assert response.status_code == 409
    assert count_rows(database, Patient) == 0
    assert count_rows(database, AuditEvent) == before


def test_the_audit_trail_has_no_route_to_change_it(app):
    methods = {
        method
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/audit-events")
        for method in rule.methods
    }
    assert methods <= {"GET", "HEAD", "OPTIONS"}


def test_only_admins_read_the_audit_trail(client, auth):
    assert client.get("/api/v1/audit-events", headers=auth("dispatcher")).status_code == 403
