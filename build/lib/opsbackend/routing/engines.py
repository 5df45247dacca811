"""The routing engines by name, each ``solve(problem, seconds, vehicle_fixed_cost=0)``.

OR-Tools is the default (the issue names it); VROOM (pyvroom, optional) is the
second. Modules load on first use so the optional one costs nothing when unused.
"""

from collections.abc import Callable
from importlib import import_module

from opsbackend.routing.problem import Problem, Solution

DEFAULT_ENGINE = "ortools"
ENGINES = {"ortools": "opsbackend.routing.ortools_engine",
           "vroom": "opsbackend.routing.vroom_engine"}

Solver = Callable[..., Solution]


def solver(name: str = DEFAULT_ENGINE) -> Solver:
    if name not in ENGINES:
        raise ValueError(f"unknown routing engine {name!r}; known: {', '.join(ENGINES)}")
    return import_module(ENGINES[name]).solve


def solve(problem: Problem, seconds: float = 10, vehicle_fixed_cost: int = 0,
          engine: str = DEFAULT_ENGINE) -> Solution:
    return solver(engine)(problem, seconds, vehicle_fixed_cost=vehicle_fixed_cost)
