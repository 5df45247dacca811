"""Travel time that keeps working when the road service does not answer.

``FallbackEstimator(primary, fallback)`` asks the primary (OSRM) and, when it
raises ``TravelTimeUnavailable``, answers from the fallback (the geodesic
estimate) and logs a warning: a dispatcher gets a rougher plan instead of an
error while OSRM is down. Pairs OSRM marks unreachable (no road) stay infinite.
"""

import logging
from collections.abc import Sequence

import numpy as np

from opsbackend.routing.travel import Point, TravelTimeEstimator, TravelTimeUnavailable

log = logging.getLogger(__name__)


class FallbackEstimator:
    def __init__(self, primary: TravelTimeEstimator, fallback: TravelTimeEstimator):
        self.primary = primary
        self.fallback = fallback
        self.fallbacks = 0  # how many answers came from the fallback (for tests and metrics)

    def matrix(self, origins: Sequence[Point], destinations: Sequence[Point]) -> np.ndarray:
        try:
            return self.primary.matrix(origins, destinations)
        except TravelTimeUnavailable as error:
            self.fallbacks += 1
            log.warning("travel time from the fallback estimator: %s", error)
            return self.fallback.matrix(origins, destinations)
