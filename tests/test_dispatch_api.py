from datetime import timedelta

from tests.test_dispatch import ALL_WEEK_DAYS, MONDAY, visit_at


def test_suggestions_list_suitable_units_and_why_others_are_not(client, auth, factory, database,
                                                                clock):
    site = factory.site()
    able = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                        shifts=ALL_WEEK_DAYS)
    unskilled = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=[],
                             shifts=ALL_WEEK_DAYS)
    visit = visit_at(factory, database, site, 34.01, -118.0, MONDAY + timedelta(hours=3))

    body = client.get(f"/api/v1/visits/{visit.id}/suggestions", headers=auth("viewer")).json

    assert [s["unit_id"] for s in body["suitable"]] == [able.id]
    assert body["suitable"][0]["arrival"] == visit.window_start.isoformat()
    assert body["suitable"][0]["travel_minutes"] > 0
    assert body["excluded"] == [{
        "unit_id": unskilled.id, "call_sign": unskilled.call_sign, "suitable": False,
        "arrival": None, "travel_minutes": None, "reason": "skill",
        "detail": "lacks pediatric", "binding_visit_id": None}]


def test_assign_and_unassign_through_the_api(client, auth, factory, database):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                        shifts=ALL_WEEK_DAYS)
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
    headers = auth("dispatcher")

    assigned = client.post(f"/api/v1/visits/{visit.id}/assign", json={"unit_id": unit.id},
                           headers=headers)
    unassigned = client.post(f"/api/v1/visits/{visit.id}/unassign", headers=headers)
    trail = client.get(f"/api/v1/audit-events?table_name=visit&record_id={visit.id}"
                       "&action=update", headers=auth("admin")).json["items"]

    assert assigned.status_code == 200
    assert (assigned.json["status"], assigned.json["unit_id"]) == ("assigned", unit.id)
    assert assigned.json["eta"] == visit.window_start.isoformat()
    assert (unassigned.json["status"], unassigned.json["unit_id"]) == ("unassigned", None)
    assert [e["changes"]["after"].get("unit_id") for e in trail][-2:] == [unit.id, None]


def test_a_refused_assignment_is_a_409_with_the_reason(client, auth, factory, database):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                        shifts=ALL_WEEK_DAYS)
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3),
                     skills=("infant",))

    response = client.post(f"/api/v1/visits/{visit.id}/assign", json={"unit_id": unit.id},
                           headers=auth("dispatcher"))

    assert response.status_code == 409
    assert "lacks infant" in response.json["message"]
    assert "unit_id" in response.json["errors"]["json"]


def test_unit_location_is_recorded(client, auth, factory):
    unit = factory.unit()

    response = client.post(f"/api/v1/units/{unit.id}/location", json={"lat": 34.2, "lon": -118.1},
                           headers=auth("nurse"))

    assert response.status_code == 200
    assert (response.json["last_lat"], response.json["last_lon"]) == (34.2, -118.1)


def test_a_shift_exception_takes_a_unit_off(client, auth, factory, database):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                        shifts=ALL_WEEK_DAYS)
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
    off = client.post(f"/api/v1/units/{unit.id}/shift-exceptions",
                      json={"on_date": "2026-03-02", "reason": "van service"},
                      headers=auth("dispatcher"))

    body = client.get(f"/api/v1/visits/{visit.id}/suggestions", headers=auth("viewer")).json

    assert off.status_code == 201
    assert body["excluded"][0]["reason"] == "shift"


def test_a_visit_whose_home_has_no_coordinates_is_a_422(client, auth, factory, database):
    site = factory.site()
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
    client.patch(f"/api/v1/patients/{visit.patient_id}",
                 json={"home": {"address_line1": "2 Unknown Rd"}}, headers=auth("dispatcher"))

    response = client.get(f"/api/v1/visits/{visit.id}/suggestions", headers=auth("viewer"))

    assert response.status_code == 422
    assert "home" in response.json["errors"]["json"]
