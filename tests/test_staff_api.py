"""Nurses and units."""

from datetime import time


def test_dispatcher_registers_a_nurse_with_skills(client, auth, factory):
    unit = factory.unit()

    response = client.post(
        "/api/v1/nurses",
        json={"name": "Rosa", "phone": "(213) 555-0131", "skills": ["pediatric", "infant"],
              "unit_id": unit.id},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 201
    assert response.json["phone"] == "+12135550131"
    assert response.json["unit_id"] == unit.id


def test_nurse_phone_is_unique(client, auth, factory):
    factory.nurse(phone="+12135550131")

    response = client.post(
        "/api/v1/nurses", json={"name": "Other", "phone": "+1 213 555 0131"},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 409
    assert "phone" in response.json["errors"]["json"]


def test_invalid_nurse_fields_are_named(client, auth):
    response = client.post(
        "/api/v1/nurses",
        json={"name": "", "phone": "not a phone", "skills": ["Infant Care!"], "unit_id": 99},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 422
    assert {"name", "phone", "skills"} <= set(response.json["errors"]["json"])


def test_a_nurse_on_an_unknown_unit_is_a_422(client, auth):
    response = client.post(
        "/api/v1/nurses", json={"name": "Rosa", "phone": "+12135550131", "unit_id": 99},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 422
    assert "unit_id" in response.json["errors"]["json"]


def test_nurses_filter_by_skill_exactly(client, auth, factory):
    factory.nurse(skills=["pediatric", "infant"])
    factory.nurse(skills=["pediatric"])
    factory.nurse(skills=["infant_transport"])

    response = client.get("/api/v1/nurses?skill=infant", headers=auth("dispatcher"))

    assert response.json["total"] == 1
    assert response.json["items"][0]["skills"] == ["pediatric", "infant"]


def test_a_unit_is_created_with_its_weekly_shifts(client, auth, factory):
    site = factory.site()

    response = client.post(
        "/api/v1/units",
        json={"call_sign": "WEST-1", "site_id": site.id, "base_lat": 34.1, "base_lon": -118.3,
              "skills": ["infant"],
              "shifts": [{"weekday": 0, "starts_at": "07:00", "ends_at": "19:00"},
                         {"weekday": 0, "starts_at": "19:00", "ends_at": "07:00"}]},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 201, response.json
    assert [s["starts_at"] for s in response.json["shifts"]] == ["07:00:00", "19:00:00"]


def test_patching_shifts_replaces_the_weekly_pattern(client, auth, factory):
    unit = factory.unit(shifts=[{"weekday": 1, "starts_at": time(7), "ends_at": time(19)}])

    response = client.patch(
        f"/api/v1/units/{unit.id}",
        json={"shifts": [{"weekday": 1, "starts_at": "07:00", "ends_at": "15:00"}]},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 200, response.json
    assert response.json["shifts"] == [
        {"weekday": 1, "starts_at": "07:00:00", "ends_at": "15:00:00"}
    ]


def test_invalid_unit_fields_are_named(client, auth, factory):
    response = client.post(
        "/api/v1/units",
        json={"call_sign": "X", "site_id": factory.site().id, "base_lat": 123, "base_lon": 0,
              "status": "flying", "shifts": [{"weekday": 7, "starts_at": "7am",
                                              "ends_at": "19:00"}]},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 422
    errors = response.json["errors"]["json"]
    assert {"base_lat", "status", "shifts"} <= set(errors)
    assert {"weekday", "starts_at"} <= set(errors["shifts"]["0"])


def test_duplicate_call_sign_is_a_409(client, auth, factory):
    unit = factory.unit()

    response = client.post(
        "/api/v1/units",
        json={"call_sign": unit.call_sign, "site_id": unit.site_id, "base_lat": 1,
              "base_lon": 1},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 409
    assert "call_sign" in response.json["errors"]["json"]


def test_units_filter_by_site_and_status(client, auth, factory):
    site = factory.site()
    factory.unit(site_id=site.id)
    factory.unit(site_id=site.id, status="out_of_service")
    factory.unit()

    response = client.get(f"/api/v1/units?site_id={site.id}&status=available",
                          headers=auth("viewer"))

    assert response.json["total"] == 1
