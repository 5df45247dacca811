"""The routing engines by name, each ``solve(problem, seconds) -> Solution``.

PyVRP is the default and the only one installed at run time: on the 48 Solomon
instances in ../shared/vrptw it lands closest to the distance-only best-known values in
the same time, and plans the 300-visit day with the least travel (README, "Routing
engines"). OR-Tools and VROOM (the dev extra) stay as the benchmark's reference rows,
held to the same feasibility tests. Modules load on first use.
"""

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from importlib import import_module

from opsbackend.routing.problem import Problem, Solution, impossible_jobs
from opsbackend.routing.timeline import solution_from_orders

DEFAULT_ENGINE = "pyvrp"
ENGINES = {"pyvrp": "opsbackend.routing.pyvrp_engine",
           "ortools": "opsbackend.routing.ortools_engine",
           "vroom": "opsbackend.routing.vroom_engine"}

Solver = Callable[[Problem, float], Solution]


class EngineUnavailable(RuntimeError):
    """The engine's library is not installed (OR-Tools and VROOM come with the dev extra)."""


def solver(name: str = DEFAULT_ENGINE) -> Solver:
    if name not in ENGINES:
        raise ValueError(f"unknown routing engine {name!r}; known: {', '.join(ENGINES)}")
    try:
        return partial(_screened, import_module(ENGINES[name]).solve)
    except ModuleNotFoundError as missing:
        raise EngineUnavailable(f"the {name} engine needs {missing.name}, which comes with "
                                "the dev extra: pip install -e '.[dev]'") from missing


def solve(problem: Problem, seconds: float = 10, engine: str = DEFAULT_ENGINE) -> Solution:
    return solver(engine)(problem, seconds)


def _screened(engine_solve: Solver, problem: Problem, seconds: float) -> Solution:
    """What every engine shares: no units or nothing possible is an answer, not a search;
    jobs no unit could ever do are left out before the search, with their reason."""
    if not problem.vehicles:
        return Solution([], {job.id: "no units available" for job in problem.jobs})
    impossible = impossible_jobs(problem)
    possible = [job for job in problem.jobs if job.id not in impossible]
    if not possible:
        return solution_from_orders(problem, {}, impossible)
    solution = engine_solve(replace(problem, jobs=possible), seconds)
    solution.unassigned = impossible | solution.unassigned
    return solution
