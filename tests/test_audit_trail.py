import pytest
from sqlalchemy import event, select

from opsbackend.domain.history.audit import act_as, record_event
from opsbackend.models import AuditEvent, Patient, Site
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


def _audit_inserts(database):
    """A list that fills with the INSERTs into audit_event sent from now on."""
    sent = []

    def seen(_conn, _cursor, statement, _params, _context, _executemany):
        if statement.startswith("INSERT INTO audit_event"):
            sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    return sent, lambda: event.remove(database.engine, "before_cursor_execute", seen)


def test_a_transaction_that_flushes_often_writes_its_events_in_one_insert(database):
    sent, stop = _audit_inserts(database)
    try:
        with database.transaction(actor="tester") as session:
            first = Site(code="A1", name="A", region="West", timezone="UTC")
            session.add(first)
            session.flush()
            act_as(session, "someone else")
            session.add(Site(code="A2", name="B", region="West", timezone="UTC"))
            session.flush()
            first.name = "A renamed"
    finally:
        stop()

    assert len(sent) == 1
    with database.new_session() as session:
        trail = session.scalars(select(AuditEvent).where(AuditEvent.table_name == "site")
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor) for e in trail] == [
        ("create", "tester"), ("create", "someone else"), ("update", "someone else")]
    assert trail[2].changes == {"before": {"name": "A"}, "after": {"name": "A renamed"}}


def test_a_rolled_back_savepoint_takes_only_its_own_events(database):
    with database.transaction(actor="tester") as session:
        session.add(Site(code="K1", name="Kept", region="West", timezone="UTC"))
        session.flush()
        with pytest.raises(RuntimeError), session.begin_nested():
            session.add(Site(code="G1", name="Gone", region="West", timezone="UTC"))
            session.flush()
            raise RuntimeError("the savepoint is rolled back")
        with session.begin_nested():
            session.add(Site(code="K2", name="Kept too", region="West", timezone="UTC"))

    with database.new_session() as session:
        created = session.scalars(select(AuditEvent.changes).where(
            AuditEvent.table_name == "site", AuditEvent.action == "create")).all()
        sites = session.scalars(select(Site.code)).all()
    assert sorted(c["after"]["code"] for c in created) == ["K1", "K2"] == sorted(sites)


def test_a_rolled_back_transaction_leaves_no_events(database):
    session = database.new_session(actor="tester")
    session.add(Site(code="R1", name="Rolled back", region="West", timezone="UTC"))
    session.flush()
    session.rollback()
    session.add(Site(code="R2", name="Committed", region="West", timezone="UTC"))
    session.commit()
    session.close()

    with database.new_session() as session:
        created = session.scalars(select(AuditEvent.changes).where(
            AuditEvent.table_name == "site")).all()
    assert [c["after"]["code"] for c in created] == ["R2"]


def test_an_event_recorded_after_changes_follows_them_in_the_trail(database, clock):
    with database.transaction(actor="tester") as session:
        session.add(Site(code="O1", name="Ordered", region="West", timezone="UTC"))
        session.flush()
        record_event(session, clock, action="refused", table_name="site")

    with database.new_session() as session:
        trail = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert trail[-2:] == ["create", "refused"]
