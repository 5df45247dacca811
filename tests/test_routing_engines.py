"""Both routing engines (OR-Tools, the default, and VROOM) keep the same promises.

The same hand-made problems go to each engine by name; whatever comes back must be
feasible: every visit starts inside its window after the travel and the previous
service, on a unit with the skills, inside the unit's shift, from and back to the
unit's own base, within its capacity. VROOM is optional: its cases are skipped
when pyvroom is not installed.
"""

import importlib.util
import math
from pathlib import Path

import pytest

from opsbackend.routing import engines, solomon
from opsbackend.routing.problem import Job, Problem, Vehicle

DATA = Path(__file__).parent / "bench" / "data"
HOUR = 3600
VROOM = pytest.param("vroom", marks=pytest.mark.skipif(
    importlib.util.find_spec("vroom") is None, reason="pyvroom is not installed"))
ENGINES = pytest.mark.parametrize("engine", ["ortools", VROOM])


def line_problem(jobs, vehicles, size=None):
    """Node n sits n x 10 minutes along one road."""
    size = size or 1 + max([job.node for job in jobs] + [v.end_node for v in vehicles] + [0])
    travel = [[abs(a - b) * 600 for b in range(size)] for a in range(size)]
    return Problem(vehicles, jobs, travel)


def check_feasible(problem, solution):
    jobs = {job.id: job for job in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    seen = []
    for route in solution.routes:
        vehicle = vehicles[route.vehicle_id]
        previous_end, previous_node = vehicle.available_from, vehicle.start_node
        load, travel = 0, 0
        for stop in route.stops:
            job = jobs[stop.job_id]
            leg = problem.travel[previous_node][job.node]
            assert job.window_start <= stop.start <= job.window_end
            assert stop.arrival <= stop.start
            assert stop.arrival >= previous_end + leg
            assert job.skills <= vehicle.skills
            load += job.demand
            travel += leg
            previous_end, previous_node = stop.start + job.service, job.node
            seen.append(job.id)
        if route.stops:
            travel += problem.travel[previous_node][vehicle.end_node]
            assert previous_end + problem.travel[previous_node][vehicle.end_node] \
                <= vehicle.available_until
            assert route.travel == travel
        assert vehicle.capacity is None or load <= vehicle.capacity
    assert sorted(seen) == sorted(set(seen))  # nobody visited twice
    assert set(seen) | set(solution.unassigned) == set(jobs)
    assert not set(seen) & set(solution.unassigned)


def by_unit(solution):
    return {route.vehicle_id: [stop.job_id for stop in route.stops] for route in solution.routes}


@ENGINES
def test_every_visit_starts_inside_its_window_after_travel_and_service(engine):
    vehicles = [Vehicle(1, 0, 0, 7 * HOUR, 19 * HOUR)]
    jobs = [Job(n, n, (8 + n) * HOUR, (8 + n) * HOUR + 900, 45 * 60) for n in (5, 1, 3, 2, 4)]
    problem = line_problem(jobs, vehicles)

    solution = engines.solve(problem, seconds=1, engine=engine)

    assert solution.unassigned == {}
    assert by_unit(solution) == {1: [1, 2, 3, 4, 5]}
    check_feasible(problem, solution)


@ENGINES
def test_each_unit_leaves_from_and_returns_to_its_own_base(engine):
    west = Vehicle(1, 0, 0, 7 * HOUR, 19 * HOUR)
    east = Vehicle(2, 10, 10, 7 * HOUR, 19 * HOUR)
    jobs = [Job(1, 1, 9 * HOUR, 10 * HOUR, 1800), Job(2, 9, 9 * HOUR, 10 * HOUR, 1800)]
    problem = line_problem(jobs, [west, east])

    solution = engines.solve(problem, seconds=1, engine=engine)

    assert by_unit(solution) == {1: [1], 2: [2]}
    assert [route.travel for route in solution.routes] == [1200, 1200]
    check_feasible(problem, solution)


@ENGINES
def test_a_visit_needing_a_skill_only_one_unit_has_goes_to_that_unit(engine):
    nearby = Vehicle(1, 0, 0, 7 * HOUR, 19 * HOUR, frozenset({"pediatric"}))
    far = Vehicle(2, 6, 6, 7 * HOUR, 19 * HOUR, frozenset({"pediatric", "infant"}))
    jobs = [Job(1, 1, 9 * HOUR, 12 * HOUR, 1800, frozenset({"infant"})),
            Job(2, 1, 9 * HOUR, 12 * HOUR, 1800, frozenset({"pediatric"}))]
    problem = line_problem(jobs, [nearby, far])

    solution = engines.solve(problem, seconds=1, engine=engine)

    assert 1 in by_unit(solution)[2]
    assert 1 not in by_unit(solution)[1]
    check_feasible(problem, solution)


@ENGINES
def test_a_unit_works_only_inside_its_shift(engine):
    vehicles = [Vehicle(1, 0, 0, 7 * HOUR, 12 * HOUR), Vehicle(2, 0, 0, 12 * HOUR, 20 * HOUR)]
    jobs = [Job(1, 2, 8 * HOUR, 9 * HOUR, 1800), Job(2, 2, 11 * HOUR, 16 * HOUR, 1800),
            Job(3, 2, 15 * HOUR, 16 * HOUR, 1800)]
    problem = line_problem(jobs, vehicles)

    solution = engines.solve(problem, seconds=1, engine=engine)

    assert solution.unassigned == {}
    assert 1 in by_unit(solution)[1] and 3 in by_unit(solution)[2]
    check_feasible(problem, solution)


@ENGINES
def test_what_no_unit_can_do_is_unassigned_with_the_reason(engine):
    vehicles = [Vehicle(1, 0, 0, 7 * HOUR, 12 * HOUR, frozenset({"pediatric"}))]
    jobs = [Job(1, 1, 8 * HOUR, 9 * HOUR, 1800, frozenset({"infant"})),
            Job(2, 1, 14 * HOUR, 15 * HOUR, 1800),
            Job(3, 30, 7 * HOUR, 8 * HOUR, 600),  # five hours away, the window closes first
            Job(4, 1, 8 * HOUR, 8 * HOUR + 600, 3 * HOUR),
            Job(5, 1, 8 * HOUR, 8 * HOUR + 600, 3 * HOUR)]
    problem = line_problem(jobs, vehicles)

    solution = engines.solve(problem, seconds=1, engine=engine)

    assert solution.unassigned[1] == "no unit has the skills infant"
    assert solution.unassigned[2] == "no unit on shift can reach it inside its window"
    assert solution.unassigned[3] == "no unit on shift can reach it inside its window"
    [dropped] = [j for j in (4, 5) if j in solution.unassigned]  # one of the twins fits
    assert solution.unassigned[dropped].startswith("does not fit")
    check_feasible(problem, solution)


@ENGINES
def test_an_empty_day_and_a_day_without_units_are_answers_not_errors(engine):
    empty = engines.solve(Problem([Vehicle(1, 0, 0, 0, HOUR)], [], [[0]]), seconds=1,
                          engine=engine)
    nobody = engines.solve(line_problem([Job(1, 1, 0, HOUR, 60)], []), seconds=1,
                           engine=engine)

    assert empty.unassigned == {} and empty.vehicles_used == 0
    assert [route.stops for route in empty.routes] == [[]]
    assert nobody.routes == [] and nobody.unassigned == {1: "no units available"}


@ENGINES
def test_a_unit_carries_no_more_than_its_capacity(engine):
    vehicles = [Vehicle(n, 0, 0, 0, 12 * HOUR, capacity=10) for n in (1, 2)]
    jobs = [Job(n, n, 0, 10 * HOUR, 600, demand=6) for n in (1, 2, 3)]
    problem = line_problem(jobs, vehicles)

    solution = engines.solve(problem, seconds=1, engine=engine)

    [reason] = solution.unassigned.values()
    assert reason.startswith("does not fit") and "capacity" in reason
    assert solution.vehicles_used == 2
    check_feasible(problem, solution)


@ENGINES
def test_a_fixed_cost_per_unit_makes_one_unit_do_what_two_would_at_equal_travel(engine):
    # Both visits are 10 minutes from the base and 20 from each other: one unit
    # or two cover the same distance; a fixed cost per unit settles it.
    travel = [[0, 600, 600], [600, 0, 1200], [600, 1200, 0]]
    vehicles = [Vehicle(n, 0, 0, 0, 12 * HOUR) for n in (1, 2)]
    jobs = [Job(1, 1, 0, 10 * HOUR, 600), Job(2, 2, 0, 10 * HOUR, 600)]
    problem = Problem(vehicles, jobs, travel)

    solution = engines.solve(problem, seconds=1, vehicle_fixed_cost=5000, engine=engine)

    assert solution.vehicles_used == 1
    check_feasible(problem, solution)


@ENGINES
def test_the_cost_matrix_is_minimised_not_the_travel_time(engine):
    # The motorway (node 0 -> 2 -> 1) is faster but tolled: cost says go straight.
    travel = [[0, 1000, 300], [1000, 0, 300], [300, 300, 0]]
    cost = [[0, 100, 900], [100, 0, 900], [900, 900, 0]]
    problem = Problem([Vehicle(1, 0, 0, 0, 12 * HOUR)], [Job(1, 1, 0, 12 * HOUR, 60)],
                      travel, cost=cost)

    solution = engines.solve(problem, seconds=1, engine=engine)

    [route] = solution.routes
    assert route.cost == 200 and route.travel == 2000
    check_feasible(problem, solution)


def test_vroom_solves_c101_close_to_the_best_known():
    pytest.importorskip("vroom")
    instance = solomon.read(DATA / "C101.txt")
    problem = solomon.to_problem(instance)

    solution = engines.solve(problem, seconds=5, engine="vroom")

    points = [(c[0], c[1]) for c in instance.customers]
    distance = sum(
        math.dist(points[a], points[b])
        for route in solution.routes if route.stops
        for path in [[0] + [stop.job_id for stop in route.stops] + [0]]
        for a, b in zip(path, path[1:], strict=False)
    )
    assert solution.unassigned == {}
    assert distance <= 828.94 * 1.05


def test_an_unknown_engine_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown routing engine 'gurobi'"):
        engines.solver("gurobi")
