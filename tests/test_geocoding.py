from dataclasses import replace

import pytest

from opsbackend.app import create_app
from opsbackend.models import GeocodeCacheEntry
from tests.factories import count_rows

HOME = {"address_line1": "450 N Grand Ave", "city": "Los Angeles", "state": "CA",
        "postal_code": "90012"}


@pytest.fixture
def geo_client(settings, clock, nominatim):
    app = create_app(replace(settings, geocoder="nominatim", nominatim_url=nominatim.url,
                             geocoder_min_delay_seconds=0), clock=clock)
    yield app.test_client()
    app.extensions["database"].dispose()


def enrol(client, auth, factory, home, code="G-1", site_id=None):
    body = {"site_id": site_id or factory.site().id, "study_code": code, "age_months": 40,
            "weight_kg": 15, "home": home}
    return client.post("/api/v1/patients", json=body, headers=auth("dispatcher"))


def test_a_home_is_geocoded_on_create(geo_client, auth, factory, nominatim):
    nominatim.add("450 n grand", (34.0576, -118.2469))

    response = enrol(geo_client, auth, factory, HOME)

    home = response.json["home"]
    assert (home["lat"], home["lon"], home["geocode_status"]) == (34.0576, -118.2469, "ok")
    assert nominatim.queries == ["450 N Grand Ave, Los Angeles, CA, 90012"]
    assert nominatim.user_agents[0].startswith("opsbackend/")


def test_an_unchanged_address_is_never_geocoded_twice(geo_client, auth, factory, database,
                                                      nominatim):
    nominatim.add("450 n grand", (34.0576, -118.2469))
    site = factory.site()
    enrol(geo_client, auth, factory, HOME, "G-1", site.id)
    # The same address, typed differently, for another patient; then an edit that keeps it.
    second = enrol(geo_client, auth, factory, HOME | {"address_line1": "450 n. Grand Ave."},
                   "G-2", site.id)
    geo_client.patch(f"/api/v1/patients/{second.json['id']}",
                     json={"home": {"access_notes": "gate code 12"}},
                     headers=auth("dispatcher"))

    assert len(nominatim.queries) == 1
    assert second.json["home"]["geocode_status"] == "ok"
    assert count_rows(database, GeocodeCacheEntry) == 1


def test_a_changed_address_is_geocoded_again(geo_client, auth, factory, nominatim):
    nominatim.add("450 n grand", (34.0576, -118.2469))
    nominatim.add("300 e colorado", (34.1458, -118.1445))
    created = enrol(geo_client, auth, factory, HOME)

    moved = geo_client.patch(
        f"/api/v1/patients/{created.json['id']}",
        json={"home": {"address_line1": "300 E Colorado Blvd", "city": "Pasadena",
                       "postal_code": "91101"}},
        headers=auth("dispatcher"),
    )

    assert moved.json["home"]["lat"] == 34.1458
    assert len(nominatim.queries) == 2


def test_coordinates_from_the_client_are_taken_as_they_are(geo_client, auth, factory,
                                                           nominatim):
    response = enrol(geo_client, auth, factory, HOME | {"lat": 34.1, "lon": -118.2})

    assert response.json["home"]["geocode_status"] == "manual"
    assert nominatim.queries == []


def test_an_address_not_found_needs_review(geo_client, auth, factory, nominatim):
    response = enrol(geo_client, auth, factory, HOME)

    home = response.json["home"]
    assert home["geocode_status"] == "needs_review"
    assert home["lat"] is None
    assert home["geocode_detail"].startswith("not_found")


def test_an_ambiguous_address_needs_review(geo_client, auth, factory, nominatim):
    nominatim.add("450 n grand", (34.0576, -118.2469), (40.7128, -74.0060))

    response = enrol(geo_client, auth, factory, HOME)

    assert response.json["home"]["geocode_status"] == "needs_review"
    assert response.json["home"]["geocode_detail"].startswith("ambiguous")
    listed = geo_client.get("/api/v1/patients?geocode_status=needs_review",
                            headers=auth("dispatcher")).json
    assert [p["id"] for p in listed["items"]] == [response.json["id"]]


def test_a_geocoder_outage_needs_review_and_is_not_cached(geo_client, auth, factory, database,
                                                          nominatim):
    nominatim.fail_with = 503

    response = enrol(geo_client, auth, factory, HOME)

    assert response.status_code == 201
    assert response.json["home"]["geocode_status"] == "needs_review"
    assert response.json["home"]["geocode_detail"].startswith("error")
    assert count_rows(database, GeocodeCacheEntry) == 0


def test_without_a_geocoder_a_moved_home_loses_its_old_coordinates(client, auth, factory):
    patient = factory.patient()

    response = client.patch(f"/api/v1/patients/{patient.id}",
                            json={"home": {"address_line1": "9 Elm St"}},
                            headers=auth("dispatcher"))

    assert response.json["home"]["lat"] is None
    assert response.json["home"]["geocode_status"] == "needs_review"
