import pytest

from opsbackend.routing.travel import (
    GeodesicEstimator,
    OsrmEstimator,
    TravelTimeUnavailable,
    haversine_km,
)

DOWNTOWN_LA = (34.0522, -118.2437)
PASADENA = (34.1478, -118.1445)
PHILADELPHIA = (39.9526, -75.1652)


def test_haversine_matches_known_distances():
    km = haversine_km([DOWNTOWN_LA], [PASADENA, PHILADELPHIA])

    assert km.shape == (1, 2)
    assert 13.5 < km[0][0] < 14.5
    assert 3830 < km[0][1] < 3860


def test_geodesic_time_uses_speed_and_road_factor():
    estimator = GeodesicEstimator(speed_kmh=60, road_factor=1.5)

    seconds = estimator.matrix([DOWNTOWN_LA, PASADENA], [PASADENA])

    km = haversine_km([DOWNTOWN_LA], [PASADENA])[0][0]
    assert seconds.shape == (2, 1)
    assert seconds[0][0] == pytest.approx(km * 1.5 / 60 * 3600)
    assert seconds[1][0] == 0


def test_a_large_matrix_is_one_vectorised_call():
    points = [(34 + i / 100, -118 - i / 100) for i in range(300)]

    seconds = GeodesicEstimator().matrix(points, points)

    assert seconds.shape == (300, 300)
    assert (seconds.diagonal() == 0).all()


def test_osrm_durations_come_from_the_table_service(osrm):
    estimator = OsrmEstimator(osrm.url)

    seconds = estimator.matrix([(34.0, -118.0)], [(34.5, -118.0), (34.0, -117.0)])

    assert seconds.tolist() == [[50.0, 100.0]]
    [path] = osrm.requests
    assert path.startswith("/table/v1/driving/-118.000000,34.000000;-118.000000,34.500000;")
    assert "sources=0" in path and "destinations=1%3B2" in path


def test_an_osrm_failure_is_a_clear_error(osrm):
    osrm.fail_with = 400

    with pytest.raises(TravelTimeUnavailable, match="InvalidQuery"):
        OsrmEstimator(osrm.url).matrix([(34.0, -118.0)], [(34.5, -118.0)])


def test_an_unreachable_osrm_is_a_clear_error():
    with pytest.raises(TravelTimeUnavailable, match="did not answer"):
        OsrmEstimator("http://127.0.0.1:9", timeout=1).matrix([(34.0, -118.0)], [(34.5, -118.0)])
