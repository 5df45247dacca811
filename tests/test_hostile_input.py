"""What a hostile client sends gets a clear 4xx naming the field, never a 500 (issue 13)."""

import json
import socket

import pytest

from opsbackend import gunicorn_errors

BIG = 2**31  # one past PostgreSQL's integer


def _site_body(**overrides):
    return {"code": "HX1", "name": "Hostile Site", "region": "West",
            "timezone": "America/Los_Angeles", "on_call_phone": "+13105550100",
            "dispatch_phone": "+13105550101"} | overrides


def _field_errors(response, location="json"):
    return response.json["errors"][location]


# 1. Integers


@pytest.mark.parametrize("path_id", [BIG, 2**63, 10**30])
def test_a_path_id_beyond_the_column_is_a_404(client, auth, path_id):
    response = client.get(f"/api/v1/patients/{path_id}", headers=auth("admin"))

    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize("value", [BIG, 2**63, -BIG])
def test_a_body_reference_beyond_the_column_is_a_422_naming_it(client, auth, value):
    response = client.post("/api/v1/courses", headers=auth("admin"),
                           json={"patient_id": value, "planned_start_at": "2026-03-03T10:00:00Z",
                                 "bag_interval_hours": 24})

    assert response.status_code == 422
    assert "patient_id" in _field_errors(response)


def test_a_query_filter_beyond_the_column_is_a_422_naming_it(client, auth):
    response = client.get(f"/api/v1/patients?site_id={2**63}", headers=auth("admin"))

    assert response.status_code == 422
    assert "site_id" in _field_errors(response, "query")


@pytest.mark.parametrize("value", [24.5, 2.6e-42, "24", True])
def test_a_non_integer_for_an_integer_field_is_a_422_not_truncated(client, auth, value):
    response = client.post("/api/v1/courses", headers=auth("admin"),
                           json={"patient_id": 1, "planned_start_at": "2026-03-03T10:00:00Z",
                                 "bag_interval_hours": value})

    assert response.status_code == 422
    assert "bag_interval_hours" in _field_errors(response)


@pytest.mark.parametrize("query", ["page_size=201", "page_size=0", "page=0", "page=1.5",
                                   "page=100001"])
def test_pages_and_page_sizes_are_bounded(client, auth, query):
    response = client.get(f"/api/v1/sites?{query}", headers=auth("admin"))

    assert response.status_code == 422
    assert set(_field_errors(response, "query")) <= {"page", "page_size"}


# 2. Dates and times


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                   "1899-12-31T23:59:59Z", "2100-01-01T00:00:00Z"])
def test_a_datetime_outside_1900_to_2100_is_a_422(client, auth, since):
    response = client.get("/api/v1/audit-events", query_string={"since": since},
                          headers=auth("admin"))

    assert response.status_code == 422
    assert "since" in _field_errors(response, "query")


@pytest.mark.parametrize("offset", ["+14:01", "-15:00", "+23:59"])
def test_a_datetime_with_an_offset_beyond_14_hours_is_a_422(client, auth, offset):
    response = client.get("/api/v1/visits",
                          query_string={"since": f"2026-03-02T10:00:00{offset}"},
                          headers=auth("admin"))

    assert response.status_code == 422
    assert "since" in _field_errors(response, "query")


def test_a_plan_for_the_last_day_of_year_9999_is_a_422_not_an_overflow(client, auth, factory):
    site = factory.site()

    response = client.post("/api/v1/plans", headers=auth("admin"),
                           json={"site_id": site.id, "day": "9999-12-31"})

    assert response.status_code == 422
    assert "day" in _field_errors(response)


def test_a_visit_in_year_1_is_refused_before_anything_computes_with_it(client, auth, factory):
    course = factory.course()

    response = client.post("/api/v1/visits", headers=auth("admin"), json={
        "course_id": course.id, "kind": "bag_change",
        "window_start": "0001-01-01T00:00:00+14:00", "window_end": "0001-01-01T02:00:00Z"})

    assert response.status_code == 422
    assert {"window_start", "window_end"} & set(_field_errors(response))


@pytest.mark.parametrize("born", ["2026-03-03", "1899-12-31"])
def test_a_date_of_birth_in_the_future_or_before_1900_is_a_422(client, auth, factory, born):
    site = factory.site()

    response = client.post("/api/v1/patients", headers=auth("admin"), json={
        "site_id": site.id, "study_code": "HX-1", "date_of_birth": born, "weight_kg": 20})

    assert response.status_code == 422
    assert "date_of_birth" in _field_errors(response)


def test_a_course_starting_years_away_is_a_422(client, auth, factory):
    patient = factory.patient()

    response = client.post("/api/v1/courses", headers=auth("admin"), json={
        "patient_id": patient.id, "planned_start_at": "2031-03-02T10:00:00Z",
        "bag_interval_hours": 24})

    assert response.status_code == 422
    assert "planned_start_at" in _field_errors(response)


def test_a_local_time_with_an_offset_is_a_422_not_dropped(client, auth, factory):
    site = factory.site()

    response = client.post("/api/v1/units", headers=auth("admin"), json={
        "call_sign": "HX-UNIT", "site_id": site.id, "base_lat": 34.0, "base_lon": -118.0,
        "shifts": [{"weekday": 0, "starts_at": "07:00:00+02:00", "ends_at": "19:00:00"}]})

    assert response.status_code == 422
    assert "shifts" in _field_errors(response)


# 3. Text


@pytest.mark.parametrize("name", ["Ho\x00stile", "Ho\ud800stile"])
def test_nul_bytes_and_lone_surrogates_are_a_422_naming_the_field(client, auth, name):
    body = json.dumps(_site_body(name=name))  # \\u0000 and \\ud800 escapes, as JSON sends them

    response = client.post("/api/v1/sites", data=body, content_type="application/json",
                           headers=auth("admin"))

    assert response.status_code == 422
    assert "name" in _field_errors(response)


def test_nul_in_a_query_filter_is_a_422(client, auth):
    response = client.get("/api/v1/patients?study_code=W%00", headers=auth("admin"))

    assert response.status_code == 422
    assert "study_code" in _field_errors(response, "query")


def test_text_is_trimmed_and_blank_is_refused(client, auth):
    created = client.post("/api/v1/sites", json=_site_body(name="  Trimmed Site  "),
                          headers=auth("admin"))
    blank = client.post("/api/v1/sites", json=_site_body(code="HX2", name="   "),
                        headers=auth("admin"))

    assert created.status_code == 201
    assert created.json["name"] == "Trimmed Site"
    assert blank.status_code == 422
    assert "name" in _field_errors(blank)


def test_maximum_lengths_are_declared_in_the_document(client):
    spec = client.get("/api/v1/openapi.json").json

    site = spec["components"]["schemas"]["Site"]["properties"]
    assert site["name"]["maxLength"] > 0
    assert spec["components"]["schemas"]["Patient"]["properties"]["study_code"]["maxLength"] == 40


def test_text_one_character_past_its_maximum_is_refused_even_when_that_character_is_a_space(
        client, auth):
    limit = client.get("/api/v1/openapi.json").json[
        "components"]["schemas"]["Site"]["properties"]["name"]["maxLength"]

    response = client.post("/api/v1/sites", json=_site_body(name="\x85" + "S" * limit),
                           headers=auth("admin"))

    assert response.status_code == 422
    assert "name" in _field_errors(response)


def test_a_blank_choice_is_refused_not_taken_as_null(client, auth):
    """Found by the long fuzz: "" for a nullable choice became null (every site's pause
    set), though the document's enum does not admit "". Free text still takes "" as null."""
    response = client.put("/api/v1/escalation-ladders/acknowledgement-pauses",
                          json={"minutes": 600, "site_id": None, "alert_kind": ""},
                          headers=auth("admin"))

    assert response.status_code == 422
    assert "alert_kind" in _field_errors(response)


# 4. Bodies


@pytest.mark.parametrize("body", ["[" * 100_000, '{"name": ' + "9" * 5000 + "}", "{not json"])
def test_unreadable_json_is_a_400(client, auth, body):
    response = client.post("/api/v1/sites", data=body, content_type="application/json",
                           headers=auth("admin"))

    assert response.status_code == 400
    assert response.json["code"] == 400


def test_a_body_that_is_not_json_is_a_415(client, auth):
    response = client.post("/api/v1/sites", data="name=x", headers=auth("admin"),
                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.is_json


def test_gunicorns_own_refusals_are_json():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        gunicorn_errors.write_json_error(ours, 431, "Request Header Fields Too Large",
                                         "Error parsing headers: 'limit'")
        raw = theirs.recv(65536).decode()

    head, body = raw.split("\r\n\r\n", 1)
    assert head.startswith("HTTP/1.1 431 ")
    assert "Content-Type: application/json" in head
    assert json.loads(body)["code"] == 431


# 5. References and query parameters


def test_an_unknown_query_parameter_is_a_400_naming_it(client, auth):
    response = client.get("/api/v1/patients?stauts=active", headers=auth("admin"))

    assert response.status_code == 400
    assert response.json["errors"]["query"] == {"stauts": ["Unknown query parameter."]}


def test_a_route_without_query_parameters_refuses_any(client, auth, factory):
    site = factory.site()

    response = client.get(f"/api/v1/sites/{site.id}?verbose=1", headers=auth("admin"))

    assert response.status_code == 400
    assert "verbose" in response.json["message"]


@pytest.mark.parametrize(("path", "field"), [("/api/v1/patients", "site_id"),
                                             ("/api/v1/units", "site_id")])
def test_a_reference_to_nothing_is_a_422_naming_it(client, auth, path, field):
    bodies = {
        "/api/v1/patients": {"site_id": 999_999, "study_code": "HX-2", "age_months": 30,
                             "weight_kg": 12},
        "/api/v1/units": {"call_sign": "HX-U2", "site_id": 999_999, "base_lat": 34.0,
                          "base_lon": -118.0},
    }

    response = client.post(path, json=bodies[path], headers=auth("admin"))

    assert response.status_code == 422
    assert field in _field_errors(response)


# 6. Phones and PINs


def test_a_phone_extension_is_refused_not_dropped(client, auth):
    response = client.post("/api/v1/nurses", headers=auth("admin"),
                           json={"name": "Ext Nurse", "phone": "+1 213 555 0199 ext 12"})

    assert response.status_code == 422
    assert "phone" in _field_errors(response)


@pytest.mark.parametrize("pin", ["٤٤٤٤", "１２３４"])
def test_a_pin_is_ascii_digits_only(client, auth, pin):
    response = client.post("/api/v1/nurses", headers=auth("admin"),
                           json={"name": "Pin Nurse", "phone": "+12135550198", "pin": pin})

    assert response.status_code == 422
    assert "pin" in _field_errors(response)


# Found by schemathesis


def test_a_boolean_in_a_body_is_true_or_false_not_0(client, auth, factory):
    site = factory.site()

    response = client.patch(f"/api/v1/sites/{site.id}", json={"active": 0},
                            headers=auth("admin"))

    assert response.status_code == 422
    assert "active" in _field_errors(response)


def test_a_body_of_optional_fields_is_declared_optional(client):
    spec = client.get("/api/v1/openapi.json").json

    assert spec["paths"]["/api/v1/sites/{site_id}"]["patch"]["requestBody"]["required"] is False
    assert spec["paths"]["/api/v1/sites"]["post"]["requestBody"]["required"] is True


def test_blank_optional_text_is_stored_as_null_and_the_fhir_export_still_validates(
        client, auth, factory):
    site = factory.site()
    created = client.post("/api/v1/patients", headers=auth("admin"), json={
        "site_id": site.id, "study_code": "HX-FHIR", "age_months": 40, "weight_kg": 14,
        "home": {"address_line1": "1 Main St", "city": "Pasadena", "postal_code": "91101",
                 "state": "", "lat": 34.1, "lon": -118.1}})

    fhir = client.get(f"/api/v1/fhir/Patient/{created.json['id']}", headers=auth("admin"))

    assert created.status_code == 201
    assert created.json["home"]["state"] is None
    assert fhir.status_code == 200
    assert "state" not in fhir.get_json(force=True)["address"][0]


def test_a_blank_nullable_time_zone_or_phone_is_null_not_a_500(client, auth, factory):
    patient = factory.patient()

    response = client.post(f"/api/v1/patients/{patient.id}/contacts", headers=auth("admin"),
                           json={"name": "Ana", "relationship": "aunt", "phone": "+16265550177",
                                 "timezone": " "})
    home = client.patch(f"/api/v1/patients/{patient.id}", headers=auth("admin"), json={
        "home": {"address_line1": "2 Main St", "city": "Pasadena", "postal_code": "91101",
                 "landline_phone": ""}})

    assert response.status_code == 201
    assert response.json["timezone"] is None
    assert home.status_code == 200
    assert home.json["home"]["landline_phone"] is None
