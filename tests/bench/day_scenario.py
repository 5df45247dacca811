"""A dispatcher's day for the routing benchmark: 40 units, 300 visits, on PostgreSQL.

One metro area (Los Angeles, about 65 x 65 km). Units: three skill levels
(pediatric; + infant; + PICC line), bases spread over the area, day shifts,
late shifts, split shifts and night shifts (past midnight), a quarter of them
with a position reported minutes ago. Visits: bag changes due between 08:00
and 22:00, each with a window of due +-2 h, 30 to 60 minutes of service, 60 %
needing the first level, 25 % the second, 15 % the third. Travel is road-like:
great-circle x 1.3 at 50 km/h (the default estimator), skewed +-12 % per ordered
pair (roads are not symmetric, nor triangles exact), plus two minutes to park.
The plan is made at 06:00 that day; urgent visits come in at 09:30.
"""

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import insert

from opsbackend.clock import FixedClock
from opsbackend.db import Database
from opsbackend.domain.registry import sites
from opsbackend.models import Home, Patient, Unit, UnitShift, Visit
from opsbackend.routing.travel import GeodesicEstimator

ZONE = ZoneInfo("America/Los_Angeles")
DAY = date(2026, 3, 3)
CENTRE = (34.05, -118.25)
LEVELS = (["pediatric"], ["pediatric", "infant"], ["pediatric", "infant", "picc_line"])
VISIT_LEVELS = (0.60, 0.25, 0.15)
# (share of the 40 units, local shifts on every weekday)
SHIFTS = ((24, [(time(7), time(19))]), (8, [(time(11), time(23))]),
          (4, [(time(6), time(11)), (time(15), time(21))]), (4, [(time(19), time(7))]))
PARKING_SECONDS = 120


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


class RoadLike:
    """The default estimator, skewed per ordered pair and with time to park."""

    def __init__(self):
        self.geodesic = GeodesicEstimator()

    def matrix(self, origins, destinations):
        seconds = np.asarray(self.geodesic.matrix(origins, destinations), dtype=float)
        if seconds.size == 0:
            return seconds
        a = np.asarray(origins, dtype=float).reshape(-1, 2)
        b = np.asarray(destinations, dtype=float).reshape(-1, 2)
        phase = np.sin(a[:, None, 0] * 7919 + b[None, :, 1] * 104729 + a[:, None, 1] * 31)
        moving = seconds > 0
        return np.where(moving, seconds * (1 + 0.12 * phase) + PARKING_SECONDS, 0.0)


@dataclass
class Day:
    database: Database
    clock: FixedClock
    site_id: int
    travel: RoadLike


def _point(rng: random.Random) -> tuple[float, float]:
    return (CENTRE[0] + rng.uniform(-0.3, 0.3), CENTRE[1] + rng.uniform(-0.35, 0.35))


def build_day(url: str, units: int = 40, visits: int = 300, seed: int = 7) -> Day:
    rng = random.Random(seed)
    clock = FixedClock(local(6))
    database = Database(url, clock)
    with database.transaction(actor="bench") as session:
        site_id = sites.create_site(session, dict(code="LA", name="Los Angeles", region="West",
                                                  timezone="America/Los_Angeles")).id
    stamp = {"created_at": clock.now(), "updated_at": clock.now()}
    with database.engine.begin() as connection:
        connection.execute(insert(Unit.__table__), _units(rng, site_id, units, clock, stamp))
        connection.execute(insert(UnitShift.__table__), _shifts(units, stamp))
        for n in range(visits):
            _visit(connection, rng, site_id, n, stamp, _due(rng))
    return Day(database, clock, site_id, RoadLike())


def add_urgent_visits(day: Day, count: int, seed: int = 11) -> list[int]:
    """Alarm responses coming in at 09:30, due within two hours, anywhere in the area."""
    rng = random.Random(seed)
    stamp = {"created_at": day.clock.now(), "updated_at": day.clock.now()}
    with day.database.engine.begin() as connection:
        return [_visit(connection, rng, day.site_id, 10_000 + n, stamp, local(10, 30),
                       kind="alarm_response", hours=1) for n in range(count)]


def _units(rng, site_id, count, clock, stamp):
    rows = []
    for n in range(count):
        lat, lon = _point(rng)
        row = stamp | {"id": n + 1, "call_sign": f"LA-{n + 1}", "site_id": site_id,
                       "base_lat": lat, "base_lon": lon, "skills": LEVELS[_level_of_unit(n)],
                       "status": "available", "last_lat": None, "last_lon": None,
                       "last_located_at": None}
        if n % 4 == 0:  # reported a few minutes ago, a little way from base
            row |= {"last_lat": lat + 0.01, "last_lon": lon - 0.01,
                    "last_located_at": clock.now() - timedelta(minutes=5)}
        rows.append(row)
    return rows


def _level_of_unit(n: int) -> int:
    return 0 if n % 10 < 5 else 1 if n % 10 < 8 else 2


def _shifts(count, stamp):
    patterns = [blocks for share, blocks in SHIFTS for _ in range(share)]
    return [stamp | {"unit_id": n + 1, "weekday": weekday, "starts_at": opens, "ends_at": closes}
            for n in range(count) for weekday in range(7)
            for opens, closes in patterns[n % len(patterns)]]


def _due(rng) -> datetime:
    return local(8) + timedelta(minutes=rng.randrange(0, 14 * 60, 5))


def _visit(connection, rng, site_id, n, stamp, due, kind="bag_change", hours=2) -> int:
    level = rng.choices(range(3), weights=VISIT_LEVELS)[0]
    patient_id = connection.execute(insert(Patient.__table__).values(
        stamp | {"site_id": site_id, "study_code": f"B-{n:05d}", "weight_kg": 20.0,
                 "age_months": 6 if level else 60, "language": "en", "status": "active"})
    ).inserted_primary_key[0]
    lat, lon = _point(rng)
    connection.execute(insert(Home.__table__).values(
        stamp | {"patient_id": patient_id, "address_line1": f"{n} Bench St", "city": "LA",
                 "postal_code": "90001", "country": "US", "lat": lat, "lon": lon,
                 "geocode_status": "manual"}))
    start = max(due - timedelta(hours=hours), local(6))
    end = min(due + timedelta(hours=hours), local(23, 59))
    return connection.execute(insert(Visit.__table__).values(
        stamp | {"patient_id": patient_id, "kind": kind, "status": "unassigned",
                 "window_start": start.astimezone(UTC), "window_end": end.astimezone(UTC),
                 "service_minutes": rng.choice((30, 30, 45, 60)),
                 "required_skills": LEVELS[level], "dedupe_key": f"bench:{kind}:{n}"})
    ).inserted_primary_key[0]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]
