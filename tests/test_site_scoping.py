"""Every role is scoped to its sites: the walk below calls every route with a token of
each role for site A against the records of site B and proves the refusal."""

import json

import pytest
from flask.views import MethodView

from opsbackend.api import site_policy
from opsbackend.api.auth import PUBLIC, allow, policy_for, site_policy_for
from opsbackend.domain.registry import tokens
from opsbackend.models import AuditEvent
from opsbackend.models.auth import ROLES
from tests.factories import PHI, count_rows, site_world
from tests.test_access_policy import routes

# Path ids the site check does not look up itself, and why.
CHECKED_ELSEWHERE = {
    "shift_exception_id": "belongs to the unit in the same path",
    "scenario_id": "a scenario spans sites: planning.scenarios checks them all",
    "token_id": "tokens.revoke_token finds only the caller's sites' tokens",
}
# Path ids of records shared by every site (EVERY_SITE: changes need a global admin).
SHARED = {"rule_id"}


@pytest.fixture
def worlds(factory, database):
    """Site A (the caller's) and site B (someone else's), one of each record in each."""
    mine, theirs = site_world(factory), site_world(factory)
    with database.transaction() as session:
        token, _raw = tokens.issue_token(session, name="theirs", role="viewer",
                                         site_ids=[theirs["site_id"]])
        theirs["token_id"] = token.id
    return mine, theirs


def tokens_for(factory, site_id):
    return {role: {"Authorization": f"Bearer {factory.token(role, site_ids=[site_id])}"}
            for role in ROLES}


def url_for(app, endpoint, world):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    missing = set(rule.arguments) - set(world) - set(CHECKED_ELSEWHERE) - SHARED
    assert not missing, f"{endpoint}: the walk knows no record for {missing}"
    values = {name: world.get(name, 1) for name in rule.arguments}
    return app.url_map.bind("localhost").build(endpoint, values)


def scoped_routes(app) -> list:
    """(endpoint, method, roles, site policy) of every route that takes a token."""
    found = []
    with app.app_context():
        for endpoint, method, _url in routes(app):
            roles = policy_for(endpoint, method)
            if roles is not PUBLIC:
                found.append((endpoint, method, roles, site_policy_for(endpoint, method)))
    return found


def test_every_route_declares_a_site_policy(app):
    undeclared = [(e, m) for e, m, _roles, sites in scoped_routes(app) if sites is None]

    assert undeclared == []


def test_a_route_without_a_site_policy_is_refused(app, client, auth):
    class Unscoped(MethodView):
        @allow("dispatcher")
        def get(self):
            return {"secret": True}

    app.add_url_rule("/api/v1/unscoped", view_func=Unscoped.as_view("unscoped"))

    response = client.get("/api/v1/unscoped", headers=auth("admin"))

    assert response.status_code == 403
    assert "site policy" in response.json["message"]


def test_every_path_id_is_checked_against_the_callers_sites(app):
    for endpoint, method, _roles, _sites in scoped_routes(app):
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        for name in rule.arguments:
            assert site_policy.site_of.knows(name) or name in CHECKED_ELSEWHERE, (
                endpoint, method, name)


def test_every_route_refuses_another_sites_records_to_every_role(
        app, client, factory, database, worlds):
    mine, theirs = worlds
    headers = tokens_for(factory, mine["site_id"])
    # A body naming site B's records wherever a route reads an id from its body.
    foreign_body = {name: theirs[name] for name in (
        "site_id", "patient_id", "course_id", "visit_id", "unit_id", "nurse_id", "bag_id")}
    their_markers = (theirs["study_code"], theirs["call_sign"], theirs["site_code"])
    checked = 0
    for endpoint, method, roles, sites in scoped_routes(app):
        url = url_for(app, endpoint, theirs)
        for role in sorted(roles):
            before = count_rows(database, AuditEvent)
            response = client.open(url, method=method, headers=headers[role],
                                   json=None if method == "GET" else dict(foreign_body))
            where = (endpoint, method, role, response.status_code, response.get_data(True)[:200])
            text = response.get_data(as_text=True)
            assert not any(marker in text for marker in their_markers), where
            assert response.status_code != 500, where
            if method != "GET":
                assert response.status_code >= 400, where
                assert count_rows(database, AuditEvent) == before, where
            if sites is site_policy.RECORD:
                assert response.status_code == 404, where
            elif sites is site_policy.CREATES:
                assert response.status_code == 422, where
                assert set(response.json["errors"]["json"]) & set(foreign_body), where
            elif sites is site_policy.LISTING and response.is_json:
                assert response.status_code == 200, where
                _assert_only_site(response.json, mine["site_id"], where)
            elif sites is site_policy.EVERY_SITE and method != "GET":
                assert response.status_code == 403, where
            checked += 1
    assert checked >= 100


def _assert_only_site(body, site_id, where):
    """A filtered list: every row that says its site is the caller's."""
    rows = body.get("items", body.get("regions", [])) if isinstance(body, dict) else body
    for row in rows:
        if isinstance(row, dict) and row.get("site_id") is not None:
            assert row["site_id"] == site_id, where


def test_a_site_1_dispatcher_lists_only_site_1_patients_and_gets_404_for_site_2(
        client, factory, worlds):
    mine, theirs = worlds
    dispatcher = tokens_for(factory, mine["site_id"])["dispatcher"]

    listed = client.get("/api/v1/patients", headers=dispatcher).json
    other = client.get(f"/api/v1/patients/{theirs['patient_id']}", headers=dispatcher)
    missing = client.get("/api/v1/patients/999999", headers=dispatcher)

    assert [p["id"] for p in listed["items"]] == [mine["patient_id"]]
    assert other.status_code == 404
    assert other.json["message"] == missing.json["message"].replace("999999",
                                                                    str(theirs["patient_id"]))


def test_a_global_admin_sees_every_site(client, auth, worlds):
    listed = client.get("/api/v1/patients", headers=auth("admin")).json

    assert {p["id"] for p in listed["items"]} == {w["patient_id"] for w in worlds}


def test_a_viewer_reads_no_names_birth_dates_addresses_coordinates_or_phones(
        app, client, factory):
    world = site_world(factory, PHI)
    viewer = tokens_for(factory, world["site_id"])["viewer"]
    read = 0
    for endpoint, method, roles, _sites in scoped_routes(app):
        if method != "GET" or "viewer" not in roles:
            continue
        url = url_for(app, endpoint, world)
        for accept in ("application/json", "text/csv", "application/geo+json"):
            response = client.get(url, headers=viewer | {"Accept": accept})
            text = response.get_data(as_text=True)
            assert response.status_code in (200, 404, 406), (endpoint, response.status_code)
            leaked = [value for value in PHI.values() if str(value) in text]
            assert leaked == [], (endpoint, accept, leaked)
            read += response.status_code == 200
    assert read >= 20


def test_a_viewer_does_not_read_who_acted_on_an_alert_nor_the_note(client, factory, database,
                                                                    clock):
    from opsbackend.domain.alerting import alerts

    world = site_world(factory, PHI)
    with database.transaction() as session:
        alerts.acknowledge(session, clock, world["alert_id"], by="token:9:rosalind@example.org")
    heads = tokens_for(factory, world["site_id"])
    url = f"/api/v1/alerts/{world['alert_id']}"

    seen_by_viewer = client.get(url, headers=heads["viewer"]).json
    seen_by_dispatcher = client.get(url, headers=heads["dispatcher"]).json

    assert {"acknowledged_by", "resolved_by", "resolution"} & set(seen_by_viewer) == set()
    assert seen_by_viewer["status"] == "acknowledged"
    assert seen_by_dispatcher["acknowledged_by"] == "token:9:rosalind@example.org"


def test_staff_read_what_a_viewer_may_not(client, factory):
    world = site_world(factory, PHI)
    dispatcher = tokens_for(factory, world["site_id"])["dispatcher"]

    patient = client.get(f"/api/v1/patients/{world['patient_id']}", headers=dispatcher).json

    assert patient["first_name"] == PHI["first_name"]
    assert patient["home"]["address_line1"] == PHI["address_line1"]
    assert patient["contacts"][0]["phone"] == PHI["contact_phone"]


def test_the_openapi_document_says_which_fields_a_viewer_does_not_read(client):
    document = client.get("/api/v1/openapi.json").json
    patient = document["components"]["schemas"]["Patient"]["properties"]
    operation = document["paths"]["/api/v1/patients/{patient_id}"]["get"]

    assert "viewer" not in patient["first_name"]["x-visible-to"]
    assert "x-visible-to" not in patient["study_code"]
    assert operation["x-sites"] == "record"


def nurse_token(factory, world) -> dict:
    raw = factory.token("nurse", site_ids=[world["site_id"]], nurse_id=world["nurse_id"])
    return {"Authorization": f"Bearer {raw}"}


def test_a_nurse_token_records_a_bag_change_only_as_its_own_nurse(client, factory, worlds):
    mine, _theirs = worlds
    other = factory.nurse(site_id=mine["site_id"])
    headers = nurse_token(factory, mine)

    response = client.post(f"/api/v1/courses/{mine['course_id']}/bag-changes", headers=headers,
                           json={"nurse_id": other.id, "no_flush_confirmed": True})

    assert response.status_code == 422
    assert "nurse_id" in response.json["errors"]["json"]


def test_a_nurse_token_reports_the_pump_only_as_its_own_nurse(client, factory, worlds):
    mine, _theirs = worlds
    other = factory.nurse(site_id=mine["site_id"])
    headers = nurse_token(factory, mine)
    url = f"/api/v1/courses/{mine['course_id']}/pump-reports"

    refused = client.post(url, headers=headers, json={
        "status": "running", "reported_by_nurse_id": other.id})
    accepted = client.post(url, headers=headers, json={
        "status": "running", "reported_by_nurse_id": mine["nurse_id"]})

    assert refused.status_code == 422
    assert "reported_by_nurse_id" in refused.json["errors"]["json"]
    assert accepted.status_code == 201, accepted.json


def test_a_nurse_reports_the_location_only_of_the_unit_they_are_on(client, factory, worlds):
    mine, _theirs = worlds
    other_unit = factory.unit(site_id=mine["site_id"])
    headers = nurse_token(factory, mine)

    own = client.post(f"/api/v1/units/{mine['unit_id']}/location", headers=headers,
                      json={"lat": 34.1, "lon": -118.2})
    other = client.post(f"/api/v1/units/{other_unit.id}/location", headers=headers,
                        json={"lat": 34.1, "lon": -118.2})

    assert own.status_code == 200, own.json
    assert other.status_code == 403
    assert "crew" in other.json["message"]


def test_a_token_for_a_dispatcher_needs_a_site(client, auth):
    response = client.post("/api/v1/tokens", headers=auth("admin"),
                           json={"name": "Dana", "role": "dispatcher"})

    assert response.status_code == 422
    assert "site_ids" in response.json["errors"]["json"]


def test_a_site_admin_grants_only_sites_they_hold(client, factory, worlds):
    mine, theirs = worlds
    site_admin = tokens_for(factory, mine["site_id"])["admin"]

    foreign = client.post("/api/v1/tokens", headers=site_admin, json={
        "name": "Dana", "role": "dispatcher", "site_ids": [theirs["site_id"]]})
    global_admin = client.post("/api/v1/tokens", headers=site_admin, json={
        "name": "Root", "role": "admin"})
    own = client.post("/api/v1/tokens", headers=site_admin, json={
        "name": "Dana", "role": "dispatcher", "site_ids": [mine["site_id"]]})

    assert foreign.status_code == 422 and "site_ids" in foreign.json["errors"]["json"]
    assert global_admin.status_code == 422
    assert own.status_code == 201 and own.json["site_ids"] == [mine["site_id"]]
    listed = client.get("/api/v1/tokens", headers=site_admin).json["items"]
    assert theirs["token_id"] not in {t["id"] for t in listed}


def test_a_nurse_token_names_a_nurse_of_its_sites(client, auth, factory, worlds):
    mine, theirs = worlds

    response = client.post("/api/v1/tokens", headers=auth("admin"), json={
        "name": "Rosa", "role": "nurse", "site_ids": [mine["site_id"]],
        "nurse_id": theirs["nurse_id"]})

    assert response.status_code == 422
    assert "nurse_id" in response.json["errors"]["json"]



def test_a_site_admin_reads_the_audit_trail_of_their_sites_records_only(client, factory,
                                                                          worlds):
    mine, theirs = worlds
    site_admin = tokens_for(factory, mine["site_id"])["admin"]

    def events(world):
        return client.get(f"/api/v1/audit-events?table_name=patient&record_id="
                          f"{world['patient_id']}", headers=site_admin).json["items"]

    assert [e["action"] for e in events(mine)] == ["create"]
    assert events(theirs) == []
    every = client.get("/api/v1/audit-events?page_size=200", headers=site_admin).json
    assert theirs["study_code"] not in json.dumps(every)


def test_a_site_admin_sets_their_sites_ladder_but_not_the_default(client, factory, worlds):
    mine, theirs = worlds
    site_admin = tokens_for(factory, mine["site_id"])["admin"]
    steps = [{"after_minutes": 0, "targets": ["dispatcher"]}]

    def put(site_id):
        return client.put("/api/v1/escalation-ladders", headers=site_admin,
                          json={"site_id": site_id, "alert_kind": None, "steps": steps})

    assert put(mine["site_id"]).status_code == 200
    assert put(theirs["site_id"]).status_code == 422
    default = put(None)
    assert default.status_code == 403
    assert "site_id" in default.json["errors"]["json"]
