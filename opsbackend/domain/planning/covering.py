"""Covering problems over a reach matrix, solved exactly (a MIP solver) and greedily.

``reach[c, d]`` is True when candidate base ``c`` reaches demand point ``d`` in time;
``weights[d]`` is what point ``d`` is worth (visits a week). Two questions:

- ``max_cover``: with ``units`` bases, the most weight reached (maximal covering
  location problem, Church and ReVelle 1974);
- ``fewest_bases``: the fewest bases reaching every point any candidate reaches
  (set covering).

Both keep ``fixed`` bases open, start from the greedy answer and never return a worse
one. The MIP goes through OR-Tools' linear solver (already a dependency), which carries
SCIP, HiGHS and CP-SAT. On the planner benchmark (5,000 homes, 300 candidates) all three
prove the optimum; SCIP the fastest, HiGHS about twice and CP-SAT three to four times as
long. The standalone HiGHS package (highspy) was fast too, but cannot share a process
with OR-Tools: both ship a ``libhighs.so.1``, and whichever loads second gets the
other's (``import ortools`` fails after ``import highspy``).

Before solving, points reached by the same candidates are merged (their weights add up)
and identical candidates kept once: the model shrinks and the answer is the same.
"""

import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

# The solver stops when the proven gap falls below this (0.01 %).
MIP_REL_GAP = 1e-4
# OR-Tools' MIP backends; SCIP proved the benchmark's answers fastest (see the README).
SOLVERS = ("SCIP", "HIGHS", "CP_SAT")
DEFAULT_SOLVER = "SCIP"


@dataclass(frozen=True)
class Answer:
    chosen: tuple[int, ...]  # candidate indices, fixed ones included
    # Max cover: the weight the chosen bases reach; fewest bases: how many they are.
    value: float
    # Proven: no choice reaches more (max cover), none needs fewer bases (fewest); None
    # for a greedy answer, which proves nothing.
    bound: float | None
    status: str  # "optimal", "time_limit" (best found, with its bound) or "greedy"
    seconds: float

    @property
    def gap_pct(self) -> float | None:
        """How far the answer may be from the best, in % of the larger of the two."""
        if self.bound is None:
            return None
        larger = max(abs(self.bound), abs(self.value))
        return 0.0 if larger == 0 else round(float(abs(self.bound - self.value) / larger * 100), 4)


def covered_weight(reach: np.ndarray, weights: np.ndarray, chosen) -> float:
    if len(chosen) == 0:
        return 0.0
    return float(weights[reach[list(chosen)].any(axis=0)].sum())


def greedy_max_cover(reach, weights, units: int, fixed=()) -> Answer:
    """Each step adds the base that reaches the most weight not yet reached."""
    started = time.perf_counter()
    chosen = list(dict.fromkeys(fixed))
    open_weight = np.where(reach[chosen].any(axis=0), 0.0, weights) if chosen else weights.copy()
    as_numbers = reach.astype(float)  # once, not at every step's product
    while len(chosen) < units:
        gains = as_numbers @ open_weight
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break  # nothing left that another base would reach
        chosen.append(best)
        open_weight[reach[best]] = 0.0
    return Answer(tuple(chosen), covered_weight(reach, weights, chosen), None, "greedy",
                  time.perf_counter() - started)


def greedy_fewest_bases(reach, fixed=()) -> Answer:
    """Adds the base reaching most uncovered points until every reachable point is reached."""
    ones = reach.any(axis=0).astype(float)
    answer = greedy_max_cover(reach, ones, reach.shape[0], fixed)
    return Answer(answer.chosen, float(len(answer.chosen)), None, "greedy", answer.seconds)


def max_cover(reach, weights, units: int, fixed=(), seconds: float = 10.0,
              solver: str = DEFAULT_SOLVER, greedy: Answer | None = None) -> Answer:
    """``greedy``: the greedy answer if the caller has it (the solver starts from it)."""
    started = time.perf_counter()
    greedy = greedy or greedy_max_cover(reach, weights, units, fixed)
    fixed = list(dict.fromkeys(fixed))
    model = _Reduced(reach, weights, fixed)
    if units <= len(fixed) or model.empty:
        return Answer(greedy.chosen, greedy.value, greedy.value, "optimal",
                      time.perf_counter() - started)
    mip = _mip(solver, seconds)
    x = [mip.BoolVar(f"x{c}") for c in range(len(model.candidates))]
    # y_g: group g is reached (continuous: the solution makes it 0 or 1 anyway).
    y = [mip.NumVar(0, 1, f"y{g}") for g in range(len(model.weights))]
    for g, reached_by in enumerate(model.reach.T):
        row = mip.Constraint(-mip.infinity(), 0)  # y_g <= sum of the x reaching g
        row.SetCoefficient(y[g], 1)
        for c in np.flatnonzero(reached_by):
            row.SetCoefficient(x[c], -1)
    limit = mip.Constraint(0, units - len(fixed))
    objective = mip.Objective()
    for c in range(len(x)):
        limit.SetCoefficient(x[c], 1)
    for g, weight in enumerate(model.weights):
        objective.SetCoefficient(y[g], float(weight))
    objective.SetMaximization()
    _hint(mip, solver, x, model.hint(greedy.chosen))
    status = _solve(mip)
    picked = fixed + [model.candidates[c] for c in range(len(x)) if x[c].solution_value() > 0.5]
    covered = covered_weight(reach, weights, picked)
    if status is None or covered < greedy.value:  # the solver found nothing better in time
        picked, covered = list(greedy.chosen), greedy.value
    bound = model.base + objective.BestBound() if status else float(weights.sum())
    return Answer(tuple(picked), covered, float(max(bound, covered)), status or "time_limit",
                  time.perf_counter() - started)


def fewest_bases(reach, fixed=(), seconds: float = 10.0, solver: str = DEFAULT_SOLVER,
                 greedy: Answer | None = None) -> Answer:
    """``value`` is the number of bases; ``bound`` the proven least number."""
    started = time.perf_counter()
    greedy = greedy or greedy_fewest_bases(reach, fixed)
    fixed = list(dict.fromkeys(fixed))
    model = _Reduced(reach, reach.any(axis=0).astype(float), fixed)
    if model.empty:
        return Answer(greedy.chosen, greedy.value, greedy.value, "optimal",
                      time.perf_counter() - started)
    mip = _mip(solver, seconds)
    x = [mip.BoolVar(f"x{c}") for c in range(len(model.candidates))]
    for reached_by in model.reach.T:
        row = mip.Constraint(1, mip.infinity())  # every group reached at least once
        for c in np.flatnonzero(reached_by):
            row.SetCoefficient(x[c], 1)
    objective = mip.Objective()
    for variable in x:
        objective.SetCoefficient(variable, 1)
    objective.SetMinimization()
    _hint(mip, solver, x, model.hint(greedy.chosen))
    status = _solve(mip)
    picked = fixed + [model.candidates[c] for c in range(len(x)) if x[c].solution_value() > 0.5]
    if status is None or len(picked) > len(greedy.chosen) or not _reaches_all(reach, picked):
        picked = list(greedy.chosen)
    least = len(fixed) + float(np.ceil(objective.BestBound() - 1e-6)) if status else len(fixed)
    return Answer(tuple(picked), float(len(picked)), min(least, len(picked)),
                  status or "time_limit", time.perf_counter() - started)


def _reaches_all(reach, picked) -> bool:
    return bool(reach[picked].any(axis=0).sum() == reach.any(axis=0).sum())


class _Reduced:
    """The part of the problem the fixed bases leave open, with duplicates merged.

    Points already reached by a fixed base, or by no candidate, drop out (``base`` is
    the weight the fixed bases reach); points reached by the same candidates become
    one group; a candidate reaching the same groups as an earlier one is dropped.
    """

    def __init__(self, reach, weights, fixed):
        done = reach[fixed].any(axis=0) if fixed else np.zeros(reach.shape[1], dtype=bool)
        self.base = float(weights[done].sum())
        left = reach.any(axis=0) & ~done & (weights > 0)
        self.empty = not left.any()
        if self.empty:
            return
        free = np.setdiff1d(np.flatnonzero(reach[:, left].any(axis=1)), fixed)
        sub = reach[np.ix_(free, np.flatnonzero(left))]
        _, keep, inverse = np.unique(_packed(sub.T), return_index=True, return_inverse=True)
        groups = sub.T[keep]
        group_weights = np.bincount(inverse.ravel(), weights=weights[left],
                                    minlength=len(groups))
        _, first = np.unique(_packed(groups.T), return_index=True)
        first = np.sort(first)
        self.candidates = [int(c) for c in free[first]]
        self.index = {c: i for i, c in enumerate(self.candidates)}
        self.reach = groups.T[first]
        self.weights = group_weights

    def hint(self, chosen) -> list[float]:
        """A known solution (the greedy one) as start values of the candidates."""
        picked = {self.index[c] for c in chosen if c in self.index}
        return [1.0 if c in picked else 0.0 for c in range(len(self.candidates))]


def _packed(rows: np.ndarray) -> np.ndarray:
    """Each boolean row as one opaque value, so rows compare (and sort) as a whole, fast."""
    packed = np.ascontiguousarray(np.packbits(rows, axis=1))
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel()


def _mip(solver: str, seconds: float) -> pywraplp.Solver:
    mip = pywraplp.Solver.CreateSolver(solver)
    if mip is None:
        raise ValueError(f"OR-Tools has no {solver} solver here")
    mip.SuppressOutput()
    mip.SetTimeLimit(int(seconds * 1000))
    if solver == "CP_SAT":
        # Its LP-based workers, which find the bound, run only with 8 or more workers.
        mip.SetNumThreads(8)
    return mip


def _hint(mip: pywraplp.Solver, solver: str, variables, values) -> None:
    # OR-Tools 9.15 crashes (SIGSEGV) on a hint given to its HiGHS backend.
    if solver != "HIGHS":
        mip.SetHint(variables, values)


def _solve(mip: pywraplp.Solver) -> str | None:
    """"optimal", "time_limit" (a solution and a bound, not proven best) or None (none)."""
    parameters = pywraplp.MPSolverParameters()
    parameters.SetDoubleParam(parameters.RELATIVE_MIP_GAP, MIP_REL_GAP)
    status = mip.Solve(parameters)
    if status == pywraplp.Solver.OPTIMAL:
        return "optimal"
    if status == pywraplp.Solver.FEASIBLE:
        return "time_limit"
    return None
