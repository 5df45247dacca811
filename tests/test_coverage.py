import csv
import io
from datetime import UTC, datetime, time

from tests.test_dispatch import visit_at

# A Monday 00:00 in Los Angeles; the coming 7 days hold 7 day shifts of 12 h.
MONDAY_MIDNIGHT_LA = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DAYS = [{"weekday": d, "starts_at": time(7), "ends_at": time(19)} for d in range(7)]


def build(factory, database, clock):
    """West: one unit at (34, -118), two patients near it, one 300 km away, one unlocated.
    South: a site with one patient and no unit."""
    clock.set(MONDAY_MIDNIGHT_LA)
    west = factory.site(region="West")
    south = factory.site(region="South", timezone="America/Chicago")
    factory.unit(site_id=west.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                 shifts=DAYS)
    near = [factory.patient(site_id=west.id, home={"address_line1": "1 A", "city": "LA",
                                                   "postal_code": "90001", "lat": 34.05,
                                                   "lon": -118.05}) for _ in range(2)]
    far = factory.patient(site_id=west.id, home={"address_line1": "1 B", "city": "Far",
                                                 "postal_code": "93000", "lat": 36.7,
                                                 "lon": -118.0})
    unlocated = factory.patient(site_id=west.id, home={"address_line1": "1 C", "city": "X",
                                                       "postal_code": "90002"})
    factory.patient(site_id=south.id)
    visit_at(factory, database, west, 34.05, -118.05, MONDAY_MIDNIGHT_LA.replace(hour=18))
    return west, south, near, far, unlocated


def test_coverage_numbers_on_a_hand_computed_case(client, auth, factory, database, clock):
    west, south, near, far, unlocated = build(factory, database, clock)

    body = client.get("/api/v1/reports/coverage?max_travel_minutes=90",
                      headers=auth("dispatcher")).json

    regions = {r["region"]: r["sites"] for r in body["regions"]}
    [w] = regions["West"]
    [s] = regions["South"]
    # The visit helper enrolled a fifth West patient (at 34.05, -118.05) with its course.
    assert w["active_patients"] == 5
    assert w["units"] == 1
    assert [p["patient_id"] for p in w["patients_out_of_reach"]] == [far.id]
    assert w["patients_out_of_reach"][0]["study_code"] == far.study_code
    assert w["patients_out_of_reach"][0]["postal_code"] == far.home.postal_code
    assert [p["patient_id"] for p in w["patients_without_location"]] == [unlocated.id]
    assert w["visits_next_7_days"] >= 1
    # 7 shifts x 12 h = 5,040 min; a 45 min visit + 30 min of travel: 67.2 visits.
    assert w["capacity_visits_next_7_days"] == 67.2
    assert s["units"] == 0 and s["capacity_visits_next_7_days"] == 0
    assert s["utilisation"] is None


def test_coverage_as_csv_and_as_a_map_layer(client, auth, factory, database, clock):
    west, _south, _near, far, _unlocated = build(factory, database, clock)

    as_csv = client.get("/api/v1/reports/coverage", headers=auth("viewer") | {"Accept":
                                                                              "text/csv"})
    layer = client.get("/api/v1/reports/coverage",
                       headers=auth("dispatcher") | {"Accept": "application/geo+json"})

    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [(r["region"], r["patients_out_of_reach"]) for r in rows] == [("West", "1"),
                                                                         ("South", "0")]
    features = layer.json["features"]
    kinds = sorted(f["properties"]["kind"] for f in features)
    assert kinds == ["home_out_of_reach", "unit_base"]
    home = next(f for f in features if f["properties"]["kind"] == "home_out_of_reach")
    assert home["geometry"]["coordinates"] == [-118.0, 36.7]
    assert home["properties"]["patient_id"] == far.id


def test_a_viewer_reads_coverage_without_homes_areas_or_positions(client, auth, factory,
                                                                   database, clock):
    _west, _south, _near, far, _unlocated = build(factory, database, clock)

    body = client.get("/api/v1/reports/coverage", headers=auth("viewer")).json
    layer = client.get("/api/v1/reports/coverage",
                       headers=auth("viewer") | {"Accept": "application/geo+json"}).json

    [out_of_reach] = [p for r in body["regions"] for s in r["sites"]
                      for p in s["patients_out_of_reach"]]
    assert out_of_reach == {"patient_id": far.id, "study_code": far.study_code}
    assert {f["geometry"] is None for f in layer["features"]} == {True}
