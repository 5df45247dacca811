"""POST/GET /api/v1/planning/scenarios: where to base units, for whom, in which format."""

import csv
import io
import json
from datetime import time

import pytest
from sqlalchemy import select

from opsbackend.api.planning import ScenarioSchema
from opsbackend.domain.errors import NotFound
from opsbackend.domain.planning import scenarios
from opsbackend.domain.scope import Scope
from opsbackend.models import AuditEvent
from opsbackend.routing.travel import GeodesicEstimator

URL = "/api/v1/planning/scenarios"
DAYS = [{"weekday": d, "starts_at": time(7), "ends_at": time(19)} for d in range(7)]
# Hospitals near the two homes no unit reaches today.
KERN = {"label": "Kern Medical", "lat": 35.38, "lon": -119.00}
DESERT = {"label": "Desert Regional", "lat": 33.82, "lon": -116.54}


def los_angeles(factory, site=None):
    """A West site with one unit downtown; two homes near it (daily and every other day),
    one daily home in Bakersfield and one every 4 days in Palm Springs (both beyond 90
    minutes), and one home with no coordinates yet."""
    site = site or factory.site(region="West")
    factory.unit(site_id=site.id, call_sign=f"DTLA-{site.id}", base_lat=34.05,
                 base_lon=-118.25, shifts=DAYS)
    homes = {
        "near": factory.patient_at(site.id, 34.06, -118.24, "90012", 24),
        "near2": factory.patient_at(site.id, 34.10, -118.30, "90027", 48),
        "bakersfield": factory.patient_at(site.id, 35.3733, -119.0187, "93301", 24),
        "palm_springs": factory.patient_at(site.id, 33.8303, -116.5453, "92262", 96),
    }
    factory.patient(site_id=site.id, home={"address_line1": "1 Nowhere", "city": "LA",
                                           "postal_code": "90001"})
    return site, homes


def post(client, auth, body, role="dispatcher", **headers):
    return client.post(URL, json=body, headers=auth(role) | headers)


def test_one_more_unit_goes_to_the_heavier_remote_home_and_a_second_adds_the_other(
        client, auth, factory):
    site, homes = los_angeles(factory)

    response = post(client, auth, {"site_id": site.id, "minutes": 90, "units": 2,
                                   "candidates": [KERN, DESERT], "name": "one more van"})

    assert response.status_code == 201, response.json
    body = response.json
    assert ScenarioSchema().validate(body) == {}  # the response matches the contract
    assert [(b["label"], b["new"]) for b in body["bases"]] == [(f"DTLA-{site.id}", False),
                                                               ("Kern Medical", True)]
    # 7 + 3.5 + 7 of 19.25 visits a week.
    assert body["coverage_pct"] == 90.91 and body["units"] == 2 and body["current_units"] == 1
    [palm_springs] = body["uncovered"]
    assert palm_springs["patient_id"] == homes["palm_springs"].id
    assert palm_springs["nearest_base"] == f"DTLA-{site.id}" and palm_springs["minutes"] > 90
    bakersfield = next(p for p in body["demand"] if p["patient_id"] == homes["bakersfield"].id)
    assert bakersfield["nearest_base"] == "Kern Medical" and bakersfield["minutes"] < 5
    assert body["homes_without_location"] == 1
    table = body["marginal_value"]
    assert [r["units"] for r in table] == [1, 2, 3, 4, 5, 6]
    assert [r["gain_visits_per_week"] for r in table[:4]] == [None, 7.0, 1.75, 0.0]
    assert table[2]["new_bases"] == ["Kern Medical", "Desert Regional"]
    assert body["solver"]["status"] == "optimal" and body["solver"]["gap_pct"] == 0
    assert body["capacity"]["exceeded"] is False
    saved = client.get(f"{URL}/{body['id']}", headers=auth("dispatcher")).json
    assert saved["coverage_pct"] == 90.91 and saved["name"] == "one more van"


def test_postal_code_centroids_are_the_candidates_when_none_are_given(client, auth, factory):
    site, _homes = los_angeles(factory)

    body = post(client, auth, {"site_id": site.id, "units": 2}).json

    new = [b for b in body["bases"] if b["new"]]
    assert [b["label"] for b in new] == ["93301 Bakersfield CA"]
    assert body["candidates_considered"] > 100


def test_cover_all_lists_the_homes_no_candidate_reaches(client, auth, factory):
    site, homes = los_angeles(factory)

    body = post(client, auth, {"site_id": site.id, "cover_all": True,
                               "candidate_postal_codes": False}).json

    assert body["question"] == "cover_all" and body["units"] == 1
    assert sorted(p["patient_id"] for p in body["unreachable"]) == sorted(
        [homes["bakersfield"].id, homes["palm_springs"].id])


def test_expected_patients_from_a_csv_count_as_demand(client, auth, factory):
    site, _homes = los_angeles(factory)

    body = post(client, auth, {
        "site_id": site.id, "units": 2, "candidates": [KERN, DESERT],
        "extra_demand_csv": "postal_code,expected_patients,visits_per_week\n92262,4,7\n"}).json

    # Four expected daily patients in Palm Springs outweigh the one Bakersfield home.
    assert [b["label"] for b in body["bases"] if b["new"]] == ["Desert Regional"]
    expected = [p for p in body["demand"] if p["kind"] == "expected"]
    assert [(p["postal_code"], p["patients"], p["covered"]) for p in expected] == [
        ("92262", 4, True)]


def test_a_region_scenario_takes_the_region_s_active_sites_only(client, auth, factory):
    site, _homes = los_angeles(factory)
    other = factory.site(region="West")
    factory.patient_at(other.id, 34.2, -118.5, "91324", 168)
    closed = factory.site(region="West", active=False)
    factory.patient_at(closed.id, 34.0, -118.1, "90040", 24)
    east = factory.site(region="Northeast", timezone="America/New_York")
    factory.patient_at(east.id, 39.95, -75.19, "19104", 24)

    body = post(client, auth, {"region": "West", "units": 1,
                               "candidate_postal_codes": False}).json

    assert body["site_ids"] == [site.id, other.id] and body["site_id"] is None
    assert body["patients"] == 5


def test_viewers_read_saved_scenarios_by_area_and_nurses_not_at_all(client, auth, factory):
    site, _homes = los_angeles(factory)
    created = post(client, auth, {"site_id": site.id, "units": 2,
                                  "candidates": [KERN]}).json

    viewer = client.get(f"{URL}/{created['id']}", headers=auth("viewer"))
    layer = client.get(f"{URL}/{created['id']}",
                       headers=auth("viewer") | {"Accept": "application/geo+json"})

    assert viewer.status_code == 200
    assert ScenarioSchema().validate(viewer.json) == {}
    areas = viewer.json["demand"]
    assert {a["kind"] for a in areas} == {"area"}
    assert {a["patient_id"] for a in areas} == {None}
    assert {a["study_code"] for a in areas} == {None}
    downtown = next(a for a in areas if a["postal_code"] == "90012")
    assert (downtown["lat"], downtown["lon"]) != (34.06, -118.24)  # the code's centroid
    assert [a["postal_code"] for a in viewer.json["uncovered"]] == ["92262"]
    homes = [f for f in layer.json["features"] if f["properties"]["kind"] != "base"]
    assert homes and all(f["properties"]["patient_id"] is None for f in homes)
    assert post(client, auth, {"site_id": site.id, "units": 1}, role="viewer").status_code \
        == 403
    assert client.get(URL, headers=auth("nurse")).status_code == 403


def test_csv_tables_and_the_geojson_layer(client, auth, factory):
    site, homes = los_angeles(factory)
    created = post(client, auth, {"site_id": site.id, "units": 2, "candidates": [KERN]}).json
    url = f"{URL}/{created['id']}"

    demand = client.get(url, headers=auth("dispatcher") | {"Accept": "text/csv"})
    marginal = client.get(f"{url}?table=marginal_value",
                          headers=auth("dispatcher") | {"Accept": "text/csv"})
    layer = client.get(url, headers=auth("dispatcher") | {"Accept": "application/geo+json"})

    rows = list(csv.DictReader(io.StringIO(demand.get_data(as_text=True))))
    assert demand.mimetype == "text/csv" and len(rows) == 4
    assert {r["covered"] for r in rows if r["patient_id"] == str(homes["palm_springs"].id)} \
        == {"False"}
    steps = list(csv.DictReader(io.StringIO(marginal.get_data(as_text=True))))
    assert [r["units"] for r in steps] == ["1", "2", "3", "4", "5", "6"]
    assert steps[1]["new_bases"] == "Kern Medical"
    features = json.loads(layer.get_data(as_text=True))["features"]
    kinds = sorted(f["properties"]["kind"] for f in features)
    assert kinds == ["base", "base", "home", "home", "home", "home"]


def test_saved_scenarios_list_newest_first_and_filter_by_site(client, auth, factory):
    site, _homes = los_angeles(factory)
    other, _ = los_angeles(factory, factory.site(region="West"))
    first = post(client, auth, {"site_id": site.id, "units": 1,
                                "candidate_postal_codes": False}).json
    second = post(client, auth, {"site_id": other.id, "units": 1,
                                 "candidate_postal_codes": False}).json

    listed = client.get(URL, headers=auth("viewer")).json
    only_first = client.get(f"{URL}?site_id={site.id}", headers=auth("viewer")).json

    assert [s["id"] for s in listed["items"]] == [second["id"], first["id"]]
    assert [s["id"] for s in only_first["items"]] == [first["id"]]
    assert client.get(f"{URL}/999999", headers=auth("viewer")).status_code == 404


def test_saving_a_scenario_writes_its_audit_event_without_the_homes(client, auth, factory,
                                                                   database):
    site, _homes = los_angeles(factory)

    created = post(client, auth, {"site_id": site.id, "units": 1,
                                  "candidate_postal_codes": False}).json

    with database.new_session() as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.table_name == "planning_scenario",
            AuditEvent.record_id == str(created["id"]))).one()
    assert event.action == "create" and event.actor.startswith("token:")
    assert event.changes["after"]["result"] == "[redacted]"
    assert event.changes["after"]["coverage_pct"] == created["coverage_pct"]


@pytest.mark.parametrize("body, field", [
    ({"units": 1}, "site_id"),
    ({"site_id": 1, "region": "West", "units": 1}, "site_id"),
    ({"site_id": 1}, "units"),
    ({"site_id": 1, "units": 2, "cover_all": True}, "units"),
    ({"region": "Atlantis", "units": 1}, "region"),
    ({"site_id": 1, "units": 1, "name": "a\x00b"}, "name"),
    ({"site_id": 1, "units": 1, "candidates": [{"label": "no place"}]}, "candidates"),
    ({"site_id": 1, "units": 1, "minutes": 100000}, "minutes"),
    ({"site_id": 2**40, "units": 1}, "site_id"),
])
def test_a_malformed_request_is_a_422_naming_the_field(client, auth, body, field):
    response = post(client, auth, body)

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_requests_the_data_cannot_answer_are_refused_naming_the_field(client, auth, factory):
    site, _homes = los_angeles(factory)
    empty = factory.site(region="South", timezone="America/Chicago")

    fewer = post(client, auth, {"site_id": site.id, "units": 0})
    bad_csv = post(client, auth, {"site_id": site.id, "units": 1,
                                  "extra_demand_csv": "postal_code,expected_patients\n0,1\n"})
    missing = post(client, auth, {"site_id": 999999, "units": 1})
    nobody = post(client, auth, {"site_id": empty.id, "units": 0})
    no_region = post(client, auth, {"region": "Midwest", "units": 1})

    assert fewer.status_code == 422 and "units" in fewer.json["errors"]["json"]
    assert bad_csv.status_code == 422 and "line 2" in bad_csv.json["message"]
    assert missing.status_code == 404
    assert nobody.status_code == 422 and "site_id" in nobody.json["errors"]["json"]
    assert no_region.status_code == 422 and "region" in no_region.json["errors"]["json"]


def test_a_caller_plans_and_reads_only_with_the_sites_they_hold(database, factory):
    mine, _ = los_angeles(factory)
    theirs, _ = los_angeles(factory, factory.site(region="West"))
    me = Scope(role="dispatcher", site_ids=frozenset({mine.id}))
    everyone = Scope.everything()
    travel = GeodesicEstimator()
    request = {"units": 1, "candidate_postal_codes": False}

    with database.transaction(actor="test") as session:
        region = scenarios.create_scenario(session, me, travel, request | {"region": "West"})
        both = scenarios.create_scenario(session, everyone, travel,
                                         request | {"region": "West", "units": 2})
        with pytest.raises(NotFound):
            scenarios.run_scenario(session, me, travel, request | {"site_id": theirs.id})

    with database.transaction(actor="test") as session:
        visible = scenarios.list_scenarios(session, me, page=1, page_size=50)
        assert region["site_ids"] == [mine.id] and region["patients"] == 4
        assert [s.id for s in visible.items] == [region["id"]]
        with pytest.raises(NotFound):
            scenarios.get_scenario(session, me, both["id"])
        assert scenarios.get_scenario(session, everyone, both["id"])["site_ids"] == [
            mine.id, theirs.id]
