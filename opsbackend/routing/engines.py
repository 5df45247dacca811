"""The routing engines by name, each ``solve(problem, seconds) -> Solution``.

PyVRP is the default and the only one installed at run time: on the 48 Solomon
instances in ../shared/vrptw it lands closest to the distance-only best-known values in
the same time, and plans the 300-visit day with the least travel (README, "Routing
engines"). OR-Tools and VROOM (the dev extra) stay as the benchmark's reference rows,
held to the same feasibility tests. Modules load on first use.
"""

from collections.abc import Callable
from importlib import import_module

from opsbackend.routing.problem import Problem, Solution

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
        return import_module(ENGINES[name]).solve
    except ModuleNotFoundError as missing:
        raise EngineUnavailable(f"the {name} engine needs {missing.name}, which comes with "
                                "the dev extra: pip install -e '.[dev]'") from missing


def solve(problem: Problem, seconds: float = 10, engine: str = DEFAULT_ENGINE) -> Solution:
    return solver(engine)(problem, seconds)
