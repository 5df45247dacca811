"""Where to base mobile infusion units: the planner's questions as pure functions.

Over demand points, candidate bases and a travel-time estimator (no database, no clock):

1. ``maximal_coverage``: with ``units`` units, which bases reach the most visits a week
   within T minutes;
2. ``full_coverage``: the fewest bases reaching every point any candidate reaches (the
   others are listed as out of every candidate's reach);
3. ``marginal_values``: what each extra unit buys, from today's units to five more;
4. capacity (``capacity.base_loads``): whether the chosen bases' crews can do the visits
   they reach on paper.

Today's bases stay where they are unless ``keep_current_bases`` is off; each new unit
gets a base of its own. Every answer is solved exactly (a MIP solver through OR-Tools,
SCIP by default, with a time limit and the proven bound) and greedily beside it, so the
benefit of the exact answer shows.
"""

from dataclasses import dataclass

import numpy as np

from opsbackend.domain.planning import covering
from opsbackend.domain.planning.capacity import base_loads, capacity_summary
from opsbackend.domain.planning.places import Candidate, DemandPoint

MARGINAL_STEPS = 5


@dataclass(frozen=True)
class Assumptions:
    minutes: int = 90  # T: a base reaches a home within this
    service_minutes: int = 45  # the time at the home, per visit
    new_unit_hours_per_week: float = 84.0  # a new unit's crew: 12 h a day, every day
    seconds: float = 10.0  # time limit of each exact solve
    keep_current_bases: bool = True
    solver: str = covering.DEFAULT_SOLVER


class Reach:
    """Travel minutes from every candidate to every point, and which are within T."""

    def __init__(self, demand: list[DemandPoint], candidates: list[Candidate], travel,
                 assumptions: Assumptions):
        self.demand, self.assumptions = demand, assumptions
        seconds = travel.matrix([(c.lat, c.lon) for c in candidates],
                                [(d.lat, d.lon) for d in demand])
        minutes = np.asarray(seconds, dtype=float).reshape(len(candidates), len(demand)) / 60
        # A candidate reaching nobody can only be one of today's bases worth keeping.
        useful = (minutes <= assumptions.minutes).any(axis=1) | np.array(
            [c.is_current for c in candidates], dtype=bool)
        self.candidates = [c for c, keep in zip(candidates, useful, strict=True) if keep]
        self.minutes = minutes[useful]
        self.reach = self.minutes <= assumptions.minutes
        self.weights = np.array([d.visits_per_week for d in demand], dtype=float)
        self.current = [i for i, c in enumerate(self.candidates) if c.is_current]
        self.current_units = sum(len(self.candidates[i].units) for i in self.current)

    @property
    def fixed(self) -> list[int]:
        return self.current if self.assumptions.keep_current_bases else []

    def bases_for(self, units: int) -> int:
        """How many bases ``units`` units occupy: today's, plus one per new unit."""
        if self.assumptions.keep_current_bases:
            return len(self.current) + units - self.current_units
        return units

    def total(self) -> float:
        return float(self.weights.sum())


def maximal_coverage(reach: Reach, units: int) -> tuple[covering.Answer, covering.Answer]:
    """The exact answer (nearest bases among equals) and the greedy one."""
    bases = reach.bases_for(units)
    greedy = covering.greedy_max_cover(reach.reach, reach.weights, bases, reach.fixed)
    exact = covering.max_cover(reach.reach, reach.weights, bases, reach.fixed,
                               reach.assumptions.seconds, reach.assumptions.solver, greedy)
    return _nearer(reach, exact), greedy


def full_coverage(reach: Reach) -> tuple[covering.Answer, covering.Answer]:
    greedy = covering.greedy_fewest_bases(reach.reach, reach.fixed)
    exact = covering.fewest_bases(reach.reach, reach.fixed, reach.assumptions.seconds,
                                  reach.assumptions.solver, greedy)
    return _nearer(reach, exact), greedy


def marginal_values(reach: Reach, answers: dict | None = None) -> list[dict]:
    """From today's units to five more: coverage, what the step added, where it goes.

    ``answers`` caches maximal_coverage by number of units (shared with the main answer).
    """
    answers = {} if answers is None else answers
    rows, previous = [], None
    start = reach.current_units
    for units in range(start, start + MARGINAL_STEPS + 1):
        if units not in answers:
            answers[units] = maximal_coverage(reach, units)
        exact, greedy = answers[units]
        covered = exact.value
        rows.append({
            "units": units,
            "new_bases": [reach.candidates[i].label for i in exact.chosen
                          if i not in reach.current],
            "covered_visits_per_week": round(covered, 2),
            "coverage_pct": _pct(covered, reach.total()),
            "gain_visits_per_week": None if previous is None else round(covered - previous, 2),
            "patients_covered": _patients_covered(reach, exact.chosen),
            "greedy_coverage_pct": _pct(greedy.value, reach.total()),
            "gap_pct": exact.gap_pct,
        })
        previous = covered
    return rows


def plan(demand: list[DemandPoint], candidates: list[Candidate], travel,
         assumptions: Assumptions, *, units: int | None = None,
         cover_all: bool = False) -> dict:
    """Answer one question and the marginal-value table; a JSON-ready summary."""
    reach = Reach(demand, candidates, travel, assumptions)
    answers: dict = {}
    if cover_all:
        exact, greedy = full_coverage(reach)
        units = reach.current_units + len(exact.chosen) - len(reach.fixed) \
            if assumptions.keep_current_bases else len(exact.chosen)
        greedy_summary = {"bases_needed": len(greedy.chosen)}
    else:
        answers[units] = maximal_coverage(reach, units)
        exact, greedy = answers[units]
        greedy_summary = {"covered_visits_per_week": round(greedy.value, 2),
                          "coverage_pct": _pct(greedy.value, reach.total())}
    greedy_summary["bases"] = [reach.candidates[i].label for i in greedy.chosen]
    chosen = list(exact.chosen)
    nearest, minutes = _nearest(reach, chosen)
    loads = base_loads(reach, chosen, nearest, minutes)
    covered = covering.covered_weight(reach.reach, reach.weights, chosen)
    return {
        "question": "cover_all" if cover_all else "max_cover",
        "minutes": assumptions.minutes,
        "units": units,
        "current_units": reach.current_units,
        "coverage_pct": _pct(covered, reach.total()),
        "covered_visits_per_week": round(covered, 2),
        "total_visits_per_week": round(reach.total(), 2),
        "patients": sum(d.patients for d in demand),
        "patients_covered": _patients_covered(reach, chosen),
        "candidates_considered": len(reach.candidates),
        "bases": loads,
        "demand": [_point(reach, n, nearest[n], minutes[n]) for n in range(len(demand))],
        "solver": {"name": assumptions.solver, "status": exact.status,
                   "seconds": round(exact.seconds, 3), "time_limit": assumptions.seconds,
                   "value": round(exact.value, 2),
                   "bound": None if exact.bound is None else round(exact.bound, 2),
                   "gap_pct": exact.gap_pct},
        "greedy": greedy_summary,
        "marginal_value": marginal_values(reach, answers),
        "capacity": capacity_summary(loads, covered, reach.total()),
        "assumptions": {"service_minutes": assumptions.service_minutes,
                        "new_unit_hours_per_week": assumptions.new_unit_hours_per_week,
                        "keep_current_bases": assumptions.keep_current_bases},
    }


def _nearer(reach: Reach, answer: covering.Answer) -> covering.Answer:
    """Among bases reaching as much, take those nearer the homes they serve.

    An exact answer is one of many equally good ones: a base anywhere within T minutes
    of a lone remote home reaches it. Each new base in turn moves to the candidate that
    keeps the weight reached and cuts the weighted travel minutes most.
    """
    chosen = list(answer.chosen)
    target = covering.covered_weight(reach.reach, reach.weights, chosen)
    for slot, base in enumerate(chosen):
        if base in reach.fixed:
            continue
        others = chosen[:slot] + chosen[slot + 1:]
        rest = reach.minutes[others].min(axis=0) if others else np.full(len(reach.weights),
                                                                        np.inf)
        with_each = np.minimum(rest[None, :], reach.minutes)  # candidates x points
        within = with_each <= reach.assumptions.minutes
        reached = within @ reach.weights
        cost = np.where(within, with_each, 0) @ reach.weights
        cost[reached < target - 1e-9] = np.inf
        cost[others] = np.inf
        chosen[slot] = int(np.argmin(cost))
    return covering.Answer(tuple(chosen), answer.value, answer.bound, answer.status,
                           answer.seconds)


def _nearest(reach: Reach, chosen: list[int]):
    if not chosen:
        return [None] * len(reach.demand), [None] * len(reach.demand)
    block = reach.minutes[chosen]
    best = block.argmin(axis=0)
    return ([chosen[b] for b in best],
            [float(block[b, n]) for n, b in enumerate(best)])


def _point(reach: Reach, n: int, base: int | None, minutes: float | None) -> dict:
    demand = reach.demand[n]
    return {
        "kind": demand.kind, "patient_id": demand.patient_id, "study_code": demand.study_code,
        "site_id": demand.site_id, "postal_code": demand.postal_code,
        "lat": demand.lat, "lon": demand.lon, "patients": demand.patients,
        "visits_per_week": round(demand.visits_per_week, 2),
        "nearest_base": None if base is None else reach.candidates[base].label,
        "minutes": None if minutes is None or not np.isfinite(minutes) else round(minutes, 1),
        "covered": (covered := minutes is not None and minutes <= reach.assumptions.minutes),
        "patients_covered": demand.patients if covered else 0,
        # False: no candidate base at all reaches it in time.
        "reachable": bool(reach.reach[:, n].any()),
    }


def _patients_covered(reach: Reach, chosen) -> int:
    if not chosen:
        return 0
    hit = reach.reach[list(chosen)].any(axis=0)
    return int(sum(d.patients for d, h in zip(reach.demand, hit, strict=True) if h))


def _pct(part: float, whole: float) -> float:
    return round(part / whole * 100, 2) if whole else 0.0
