"""Can a unit fit one more visit? One unit's day as a sequence of stops with hard windows.

Times are true: no stop starts before now, and none before the shift that covers it
opens. Within a shift the unit drives on from its last stop; a stop in a later shift
(after an overnight gap) starts from the base when that shift opens. Every visit starts
inside its window and is done inside a shift; travel comes from the travel-time
estimator. The candidate is tried at every position among the unit's other visits: it
goes where it delays none of them when it can, then where it starts earliest. A refusal
names the visit and the limit that bind in the candidate's own slot of the day; a visit
that was already late before the candidate came is timed as soon as the unit can get
there and refuses nothing (but is never made later).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

BASE = -1  # the matrix row of the unit's base


@dataclass(frozen=True)
class Stop:
    visit_id: int
    point: tuple[float, float]
    window_start: datetime
    window_end: datetime
    service: timedelta
    # When the unit plans to start it now (its ETA): keeps the day in its current order.
    planned: datetime | None = None
    # The nurse is there, or on the way with an ETA the family was given: a fact.
    fixed_start: datetime | None = None


@dataclass
class Placement:
    start: datetime | None
    travel_seconds: float
    starts: dict[int, datetime] = field(default_factory=dict)
    # Stops timed past their window or shift (tolerated: they were late already).
    late: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Refusal:
    reason: str  # "shift", "too_far", "too_late" or "conflict" (and "skill", "status")
    detail: str
    # The visit whose limit binds (the candidate itself, or one of the unit's others).
    visit_id: int | None = None


def place(
    candidate: Stop, others: list[Stop], base: tuple[float, float], stretches, travel,
    now: datetime,
) -> Placement | Refusal:
    now = _next_minute(now)
    hop = _hops([candidate, *others], base, travel)
    alone = schedule([candidate], hop, stretches, now)
    if isinstance(alone, Refusal) or not others:
        return _placed(alone, candidate)
    ordered = in_day_order(others)
    before = schedule(ordered, hop, stretches, now, lenient=dict.fromkeys(
        s.visit_id for s in ordered))
    # The day as it is. Visits late already may stay late, never later.
    already_late = {visit_id: before.starts[visit_id] for visit_id in before.late}
    # Nothing goes before a visit under way (on site, en route): the crew is there now, and
    # a stop put ahead of it would be timed as if the unit were free before it.
    first_slot = max((n + 1 for n, s in enumerate(ordered) if s.fixed_start is not None),
                     default=0)
    options = {n: schedule(ordered[:n] + [candidate] + ordered[n:], hop, stretches, now,
                           already_late)
               for n in range(first_slot, len(ordered) + 1)}
    feasible = [o for o in options.values() if isinstance(o, Placement)]
    if feasible:
        # A new visit fits in without moving the unit's planned visits when it can: the day
        # the crew already has stays as it is, then the earliest start wins.
        best = min(feasible, key=lambda p: (_delays(p, before), p.starts[candidate.visit_id],
                                            p.travel_seconds))
        return _placed(best, candidate)
    # The candidate's own slot by its window says what really binds.
    slot = max(first_slot, sum(1 for s in ordered if _day_key(s) <= candidate.window_start))
    return options[slot]


def retime(stops: list[Stop], base, stretches, travel, now: datetime) -> Placement:
    """The unit's day in its current order, each stop as early as it can be (never refused)."""
    ordered = in_day_order(stops)
    if not ordered:
        return Placement(None, 0.0)
    return schedule(ordered, _hops(ordered, base, travel), stretches, _next_minute(now),
                    lenient=dict.fromkeys(s.visit_id for s in ordered))


def in_day_order(stops: list[Stop]) -> list[Stop]:
    return sorted(stops, key=lambda s: (_day_key(s), s.window_start, s.visit_id))


def schedule(sequence: list[Stop], hop, stretches, now: datetime,
             lenient: dict | None = None) -> Placement | Refusal:
    """Start times for the stops in this order, or the first limit broken.

    A stop in ``lenient`` that cannot keep its limits is timed as soon as the unit can
    get there instead, and listed in ``late``; if ``lenient`` gives it a start, no later.
    """
    lenient = lenient or {}
    here, free_at, travelled, starts, late = BASE, None, 0.0, {}, set()
    for stop in sequence:
        if stop.fixed_start is not None:
            start, drive = stop.fixed_start, 0.0
        else:
            timing = _earliest_start(stop, here, free_at, hop, stretches, now)
            if isinstance(timing, Refusal):
                if stop.visit_id not in lenient:
                    return timing
                timing = _as_soon_as_possible(stop, here, free_at, hop, now)
                if lenient[stop.visit_id] and timing[0] > lenient[stop.visit_id]:
                    return Refusal("conflict", f"V{stop.visit_id} is late already (it could "
                                               f"start {_t(lenient[stop.visit_id])}); this "
                                               f"would delay it to {_t(timing[0])}",
                                   stop.visit_id)
                late.add(stop.visit_id)
            start, drive = timing
        starts[stop.visit_id] = start
        here, free_at = stop.visit_id, max(start + stop.service, now)
        travelled += drive
    return Placement(None, travelled, starts, frozenset(late))


def _earliest_start(stop: Stop, here: int, free_at: datetime | None, hop, stretches,
                    now: datetime):
    """(start, drive seconds) in the first shift that can hold the stop, or the refusal."""
    refusal = None
    for opens, closes in stretches:
        if closes < stop.window_start + stop.service or (free_at is not None
                                                         and free_at > closes):
            continue  # this shift is over before the visit could be done in it
        if opens > stop.window_end:
            break
        if free_at is not None and free_at >= opens:
            origin, depart = here, free_at  # straight on from the last stop
        else:
            origin, depart = BASE, opens  # from the base, when this shift opens
        depart = max(depart, now)
        drive = hop(origin, stop.visit_id)
        start = max(stop.window_start, _next_minute(depart + timedelta(seconds=drive)))
        if start > stop.window_end:
            return _too_late(stop, origin, depart, drive, start, opens, now)
        if start + stop.service <= closes:
            return start, drive
        refusal = Refusal("shift", f"V{stop.visit_id} could start at {_t(start)} but would "
                                   f"not be done before the shift closes at {_t(closes)}",
                          stop.visit_id)
    return refusal or Refusal(
        "shift", f"no shift of the unit covers V{stop.visit_id}'s window "
                 f"{_t(stop.window_start)}-{_t(stop.window_end)}", stop.visit_id)


def _too_late(stop, origin, depart, drive, start, opens, now) -> Refusal:
    minutes = round(drive / 60)
    closes = f"V{stop.visit_id}'s window closes at {_t(stop.window_end)}"
    if origin != BASE:
        return Refusal("conflict", f"after V{origin} (done {_t(depart)}) and {minutes} min of "
                                   f"travel, V{stop.visit_id} cannot start before {_t(start)}; "
                                   f"{closes}", stop.visit_id)
    if depart == now and now > opens:
        return Refusal("too_late", f"leaving now ({_t(now)}) the unit reaches V{stop.visit_id} "
                                   f"at {_t(start)}; {closes}", stop.visit_id)
    return Refusal("too_far", f"leaving its base when the shift opens ({_t(depart)}) the unit "
                              f"reaches V{stop.visit_id} at {_t(start)} ({minutes} min); "
                              f"{closes}", stop.visit_id)


def _as_soon_as_possible(stop, here, free_at, hop, now):
    origin = here if free_at is not None else BASE
    drive = hop(origin, stop.visit_id)
    depart = max(free_at or now, now)
    return max(stop.window_start, _next_minute(depart + timedelta(seconds=drive))), drive


def _delays(placement: Placement, before: Placement) -> bool:
    """Would any of the unit's visits start later than in its day without the candidate?"""
    return any(placement.starts[visit_id] > start for visit_id, start in before.starts.items())


def _placed(result, candidate: Stop):
    if isinstance(result, Placement):
        result.start = result.starts[candidate.visit_id]
    return result


def _day_key(stop: Stop) -> datetime:
    return stop.fixed_start or stop.planned or stop.window_start


def _hops(stops: list[Stop], base, travel):
    if len(stops) == 1:  # one visit alone: only the drive from the base counts
        seconds = float(travel.matrix([base], [stops[0].point])[0][0])
        return lambda _a, _b: seconds
    points = [base] + [s.point for s in stops]
    matrix = travel.matrix(points, points)
    row = {BASE: 0} | {s.visit_id: n + 1 for n, s in enumerate(stops)}

    def hop(a: int, b: int) -> float:
        return float(matrix[row[a]][row[b]])

    return hop


def _next_minute(moment: datetime) -> datetime:
    """ETAs on the minute: 10:35, not 10:34:12.5."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


def _t(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


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
