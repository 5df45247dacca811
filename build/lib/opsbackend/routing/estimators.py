"""The travel-time estimator the settings choose: geodesic, or OSRM with a geodesic fallback."""

from opsbackend.routing.travel import GeodesicEstimator, OsrmEstimator, TravelTimeEstimator
from opsbackend.routing.travel_fallback import FallbackEstimator


def estimator_from_settings(settings) -> TravelTimeEstimator:
    geodesic = GeodesicEstimator(settings.travel_speed_kmh, settings.travel_road_factor)
    if settings.osrm_url:
        # OSRM down must not fail dispatch: the geodesic estimate answers meanwhile.
        return FallbackEstimator(OsrmEstimator(settings.osrm_url), geodesic)
    return geodesic
