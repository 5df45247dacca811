"""Can a unit fit one more visit? One unit's day as a sequence of stops with hard windows.

The unit leaves its base during a shift; every visit starts inside its window
and is done inside a shift; travel between stops comes from the travel-time
estimator. The candidate is tried at every position among the unit's other
visits; the earliest feasible start wins.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from opsbackend.domain.registry.shifts import on_shift

BASE = -1  # the matrix row of the unit's base


@dataclass(frozen=True)
class Stop:
    visit_id: int
    point: tuple[float, float]
    window_start: datetime
    window_end: datetime
    service: timedelta


@dataclass
class Placement:
    start: datetime
    travel_seconds: float
    starts: dict[int, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    reason: str  # "shift", "too_far" or "conflict"
    detail: str


def place(
    candidate: Stop, others: list[Stop], base: tuple[float, float], stretches, travel
) -> Placement | Refusal:
    stops = [candidate, *others]
    matrix = travel.matrix([base] + [s.point for s in stops], [base] + [s.point for s in stops])
    row = {BASE: 0} | {s.visit_id: n + 1 for n, s in enumerate(stops)}

    def hop(a: int, b: int) -> float:
        return float(matrix[row[a]][row[b]])

    alone = _run([candidate], hop, stretches, candidate.visit_id)
    if isinstance(alone, Refusal) or not others:
        return alone
    ordered = sorted(others, key=lambda s: s.window_start)
    options = [
        _run(ordered[:n] + [candidate] + ordered[n:], hop, stretches, candidate.visit_id)
        for n in range(len(ordered) + 1)
    ]
    feasible = [o for o in options if isinstance(o, Placement)]
    if not feasible:
        first_clash = next(o for o in options if isinstance(o, Refusal))
        return Refusal("conflict", first_clash.detail)
    return min(feasible, key=lambda p: (p.start, p.travel_seconds))


def _run(sequence: list[Stop], hop, stretches, candidate_id: int) -> Placement | Refusal:
    here, free_at, travelled, starts = BASE, None, 0.0, {}
    for stop in sequence:
        drive = hop(here, stop.visit_id)
        if free_at is None:
            opening = _opening_for(stretches, stop)
            if opening is None:
                return Refusal("shift", f"no shift covers V{stop.visit_id}'s window")
            start = max(stop.window_start, opening + timedelta(seconds=drive))
        else:
            start = max(stop.window_start, free_at + timedelta(seconds=drive))
        if start > stop.window_end:
            reason = "too_far" if free_at is None else "conflict"
            return Refusal(reason, f"cannot be at V{stop.visit_id} by "
                                   f"{stop.window_end.isoformat()}")
        end = start + stop.service
        if not on_shift(stretches, start, end):
            return Refusal("shift", f"V{stop.visit_id} would run past the end of a shift")
        starts[stop.visit_id] = start
        here, free_at, travelled = stop.visit_id, end, travelled + drive
    return Placement(starts[candidate_id], travelled, starts)


def _opening_for(stretches, stop: Stop) -> datetime | None:
    """When the unit can set off: the opening of a shift that overlaps the visit's window."""
    for opens, closes in stretches:
        if opens <= stop.window_end and closes >= stop.window_start + stop.service:
            return opens
    return None



class PointMatrix:
    """Travel times for judging many units at once, in two vectorised calls.

    Judging needs every point to and from the visit and the units' other stops (the
    hubs), never base to base: so the matrix is all points x hubs and hubs x all
    points, not all x all (1,000 units: 2 x 1,000 x few, not 1,000,000 pairs).
    """

    def __init__(self, travel, hubs, points):
        self._travel = travel
        self._hubs = {point: n for n, point in enumerate(dict.fromkeys(hubs))}
        self._all = {point: n for n, point in enumerate(dict.fromkeys([*hubs, *points]))}
        hub_list, all_list = list(self._hubs), list(self._all)
        self._to_hub = np.asarray(travel.matrix(all_list, hub_list))
        self._from_hub = np.asarray(travel.matrix(hub_list, all_list))

    def matrix(self, origins, destinations):
        return [[self._seconds(a, b) for b in destinations] for a in origins]

    def _seconds(self, a, b) -> float:
        if a == b:
            return 0.0
        if b in self._hubs:
            return float(self._to_hub[self._all[a]][self._hubs[b]])
        if a in self._hubs:
            return float(self._from_hub[self._hubs[a]][self._all[b]])
        return float(np.asarray(self._travel.matrix([a], [b]))[0][0])
