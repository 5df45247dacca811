import math

import pytest

from opsbackend.routing.travel import GeodesicEstimator, OsrmEstimator
from opsbackend.routing.travel_fallback import FallbackEstimator

HOME = (34.0522, -118.2437)
BASE = (34.1478, -118.1445)


def test_osrm_answers_while_it_is_up(osrm):
    estimator = FallbackEstimator(OsrmEstimator(osrm.url), GeodesicEstimator())

    seconds = estimator.matrix([(34.0, -118.0)], [(34.5, -118.0)])[0][0]

    assert seconds == 50.0
    assert estimator.fallbacks == 0


def test_a_failing_osrm_falls_back_to_the_geodesic_estimate(osrm):
    osrm.fail_with = 500
    geodesic = GeodesicEstimator()
    estimator = FallbackEstimator(OsrmEstimator(osrm.url), geodesic)

    seconds = estimator.matrix([HOME, BASE], [BASE])

    assert seconds.shape == (2, 1)
    assert seconds.ravel().tolist() == pytest.approx(
        geodesic.matrix([HOME, BASE], [BASE]).ravel().tolist())
    assert estimator.fallbacks == 1


def test_an_unreachable_osrm_falls_back_too():
    estimator = FallbackEstimator(OsrmEstimator("http://127.0.0.1:9", timeout=1),
                                  GeodesicEstimator(speed_kmh=60, road_factor=1))

    seconds = float(estimator.matrix([HOME], [BASE])[0][0])

    assert 13.5 * 60 < seconds < 14.5 * 60  # about 14 km at 60 km/h
    assert estimator.fallbacks == 1
    assert math.isfinite(seconds)


def test_with_osrm_configured_a_dead_osrm_still_gives_suggestions(settings, clock, factory,
                                                                  database, auth):
    from dataclasses import replace

    from opsbackend.app import create_app
    from tests.test_dispatch import ALL_WEEK_DAYS, MONDAY, visit_at

    app = create_app(replace(settings, osrm_url="http://127.0.0.1:9"), clock=clock)
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                        shifts=ALL_WEEK_DAYS)
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY.replace(hour=18))

    response = app.test_client().get(f"/api/v1/visits/{visit.id}/suggestions",
                                     headers=auth("viewer"))

    assert response.status_code == 200
    assert [s["unit_id"] for s in response.json["suitable"]] == [unit.id]
    app.extensions["database"].dispose()
