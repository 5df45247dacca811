"""The routing engines by name, each ``solve(problem, seconds) -> Solution``.

PyVRP is the default: on all 48 Solomon instances shipped in ../shared/vrptw it lands
closest to the distance-only best-known values in the same time (README, "Routing
engines"). OR-Tools and VROOM stay as reference rows for the benchmark and as the
fallbacks the feasibility tests hold to the same promises. Modules load on first use,
so an engine costs nothing until asked for.
"""

from collections.abc import Callable
from importlib import import_module

from opsbackend.routing.problem import Problem, Solution

DEFAULT_ENGINE = "pyvrp"
ENGINES = {"pyvrp": "opsbackend.routing.pyvrp_engine",
           "ortools": "opsbackend.routing.ortools_engine",
           "vroom": "opsbackend.routing.vroom_engine"}

Solver = Callable[[Problem, float], Solution]


def solver(name: str = DEFAULT_ENGINE) -> Solver:
    if name not in ENGINES:
        raise ValueError(f"unknown routing engine {name!r}; known: {', '.join(ENGINES)}")
    return import_module(ENGINES[name]).solve


def solve(problem: Problem, seconds: float = 10, engine: str = DEFAULT_ENGINE) -> Solution:
    return solver(engine)(problem, seconds)
