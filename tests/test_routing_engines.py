"""Every routing engine (PyVRP, the default, OR-Tools and VROOM) keeps the same promises.

The same hand-made problems go to each engine by name; whatever comes back must be
feasible: every visit starts inside its window after the travel and the previous
service, on a unit with the skills, inside the unit's shift, from and back to the
unit's own base, within its capacity. OR-Tools and VROOM are optional (the dev
extra): their cases are skipped when they are not installed.
"""

import importlib.util
from pathlib import Path

import pytest

from opsbackend.routing import engines, solomon
from opsbackend.routing.problem import Job, Problem, Vehicle

DATA = Path(__file__).parent / "bench" / "data"
HOUR = 3600


def optional(engine, module):
    return pytest.param(engine, marks=pytest.mark.skipif(
        importlib.util.find_spec(module) is None, reason=f"{module} is not installed"))


ENGINES = pytest.mark.parametrize(
    "engine", ["pyvrp", optional("ortools", "ortools"), optional("vroom", "vroom")])


def line_problem(jobs, vehicles, size=None):
    """Node n sits n x 10 minutes along one road."""
    size = size or 1 + max([job.node for job in jobs] + [v.end_node for v in vehicles]
                           + [v.start_node for v in vehicles] + [0])
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

    solution = engines.solve(problem, seconds=0.5, engine=engine)

    assert solution.unassigned == {}
    assert by_unit(solution) == {1: [1, 2, 3, 4, 5]}
    check_feasible(problem, solution)


@ENGINES
def test_each_unit_leaves_from_and_returns_to_its_own_base(engine):
    west = Vehicle(1, 0, 0, 7 * HOUR, 19 * HOUR)
    east = Vehicle(2, 10, 10, 7 * HOUR, 19 * HOUR)
    jobs = [Job(1, 1, 9 * HOUR, 10 * HOUR, 1800), Job(2, 9, 9 * HOUR, 10 * HOUR, 1800)]
    problem = line_problem(jobs, [west, east])

    solution = engines.solve(problem, seconds=0.5, engine=engine)

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

    solution = engines.solve(problem, seconds=0.5, engine=engine)

    assert 1 in by_unit(solution)[2]
    assert 1 not in by_unit(solution)[1]
    check_feasible(problem, solution)


@ENGINES
def test_a_unit_works_only_inside_its_shift(engine):
    vehicles = [Vehicle(1, 0, 0, 7 * HOUR, 12 * HOUR), Vehicle(2, 0, 0, 12 * HOUR, 20 * HOUR)]
    jobs = [Job(1, 2, 8 * HOUR, 9 * HOUR, 1800), Job(2, 2, 11 * HOUR, 16 * HOUR, 1800),
            Job(3, 2, 15 * HOUR, 16 * HOUR, 1800)]
    problem = line_problem(jobs, vehicles)

    solution = engines.solve(problem, seconds=0.5, engine=engine)

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

    solution = engines.solve(problem, seconds=0.5, engine=engine)

    assert solution.unassigned[1] == "no unit has the skills infant"
    assert solution.unassigned[2] == "no unit on shift can reach it inside its window"
    assert solution.unassigned[3] == "no unit on shift can reach it inside its window"
    [dropped] = [j for j in (4, 5) if j in solution.unassigned]  # one of the twins fits
    assert solution.unassigned[dropped].startswith("does not fit")
    check_feasible(problem, solution)


@ENGINES
def test_two_visits_at_one_home_needing_different_skills_go_to_units_that_have_them(engine):
    # One home (node 3), an infant and a sibling, both due at 09:00 (so two units go):
    # PyVRP's skills are encoded per job, not per place, so the same node can be barred
    # for one visit and open for the other.
    basic = Vehicle(1, 0, 0, 7 * HOUR, 19 * HOUR, frozenset({"pediatric"}))
    trained = Vehicle(2, 0, 0, 7 * HOUR, 19 * HOUR, frozenset({"pediatric", "infant"}))
    jobs = [Job(1, 3, 9 * HOUR, 9 * HOUR + 900, 1800, frozenset({"pediatric", "infant"})),
            Job(2, 3, 9 * HOUR, 9 * HOUR + 900, 1800, frozenset({"pediatric"}))]
    problem = line_problem(jobs, [basic, trained])

    solution = engines.solve(problem, seconds=0.5, engine=engine)

    assert by_unit(solution) == {1: [2], 2: [1]}
    check_feasible(problem, solution)


@ENGINES
def test_three_skill_levels_each_visit_on_a_unit_with_all_it_needs(engine):
    levels = [frozenset({"adult"}), frozenset({"adult", "pediatric"}),
              frozenset({"adult", "pediatric", "infant"})]
    vehicles = [Vehicle(n, 5 * n, 5 * n, 7 * HOUR, 19 * HOUR, level)
                for n, level in enumerate(levels)]
    # Every visit sits at the base of the least trained unit: travel alone would give
    # them all to it.
    jobs = [Job(10 * n + k, 0, (8 + k) * HOUR, (10 + k) * HOUR, 900, level)
            for n, level in enumerate(levels) for k in range(3)]
    problem = line_problem(jobs, vehicles)

    solution = engines.solve(problem, seconds=0.5, engine=engine)

    assert solution.unassigned == {}
    check_feasible(problem, solution)
    assert set(by_unit(solution)[0]) <= {0, 1, 2}


@ENGINES
def test_when_not_every_visit_fits_as_many_as_possible_are_served(engine):
    # Six one-hour visits all due between 09:00 and 10:00 at one place, two units: each
    # unit can do at most two (09:00 and 10:00 starts), so four are served.
    vehicles = [Vehicle(n, 0, 0, 7 * HOUR, 19 * HOUR) for n in (1, 2)]
    jobs = [Job(n, 1, 9 * HOUR, 10 * HOUR, HOUR) for n in range(1, 7)]
    problem = line_problem(jobs, vehicles)

    solution = engines.solve(problem, seconds=0.5, engine=engine)

    assert len(solution.unassigned) == 2
    assert all(r.startswith("does not fit") for r in solution.unassigned.values())
    check_feasible(problem, solution)


@ENGINES
def test_a_unit_may_start_where_it_is_and_end_at_its_base(engine):
    # Unit 1 is out at node 8 now, its base is node 0; the visit is at node 7.
    out = Vehicle(1, 8, 0, 9 * HOUR, 19 * HOUR)
    home = Vehicle(2, 0, 0, 9 * HOUR, 19 * HOUR)
    problem = line_problem([Job(1, 7, 9 * HOUR, 9 * HOUR + 900, 600)], [out, home])

    solution = engines.solve(problem, seconds=0.5, engine=engine)

    assert by_unit(solution)[1] == [1]
    assert solution.routes[0].travel == 600 + 7 * 600
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

    solution = engines.solve(problem, seconds=0.5, engine=engine)

    [reason] = solution.unassigned.values()
    assert reason.startswith("does not fit") and "capacity" in reason
    assert solution.vehicles_used == 2
    check_feasible(problem, solution)


@ENGINES
def test_the_fleet_objective_uses_fewer_units_even_at_more_travel(engine):
    # Both visits are 10 minutes from the base and 25 from each other: two units
    # travel 40 minutes, one unit 45. Distance takes two, fleet one.
    travel = [[0, 600, 600], [600, 0, 1500], [600, 1500, 0]]
    vehicles = [Vehicle(n, 0, 0, 0, 12 * HOUR) for n in (1, 2)]
    jobs = [Job(1, 1, 0, 10 * HOUR, 600), Job(2, 2, 0, 10 * HOUR, 600)]

    by_distance = engines.solve(Problem(vehicles, jobs, travel), seconds=0.5, engine=engine)
    fleet = Problem(vehicles, jobs, travel, objective="fleet")
    by_fleet = engines.solve(fleet, seconds=0.5, engine=engine)

    assert (by_distance.vehicles_used, by_fleet.vehicles_used) == (2, 1)
    assert sum(r.travel for r in by_fleet.routes) == 2700
    check_feasible(fleet, by_fleet)


@ENGINES
def test_the_cost_matrix_is_minimised_not_the_travel_time(engine):
    # The motorway (node 0 -> 2 -> 1) is faster but tolled: cost says go straight.
    travel = [[0, 1000, 300], [1000, 0, 300], [300, 300, 0]]
    cost = [[0, 100, 900], [100, 0, 900], [900, 900, 0]]
    problem = Problem([Vehicle(1, 0, 0, 0, 12 * HOUR)], [Job(1, 1, 0, 12 * HOUR, 60)],
                      travel, cost=cost)

    solution = engines.solve(problem, seconds=0.5, engine=engine)

    [route] = solution.routes
    assert route.cost == 200 and route.travel == 2000
    check_feasible(problem, solution)


def test_pyvrp_solves_c101_close_to_the_best_known_and_feasibly():
    instance = solomon.read(DATA / "C101.txt")
    problem = solomon.to_problem(instance)

    solution = engines.solve(problem, seconds=2, engine="pyvrp")

    assert solution.unassigned == {}
    assert solomon.distance(instance, solution) <= 828.94 * 1.05
    check_feasible(problem, solution)


def test_pyvrp_gives_the_same_plan_for_the_same_problem():
    vehicles = [Vehicle(n, 0, 0, 7 * HOUR, 19 * HOUR) for n in (1, 2, 3)]
    jobs = [Job(n, n % 9 + 1, (8 + n % 5) * HOUR, (10 + n % 5) * HOUR, 1200)
            for n in range(1, 16)]
    problem = line_problem(jobs, vehicles)

    first, second = (engines.solve(problem, seconds=0.5, engine="pyvrp") for _ in range(2))

    assert by_unit(first) == by_unit(second)


def test_an_unknown_engine_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown routing engine 'gurobi'"):
        engines.solver("gurobi")


def test_an_engine_whose_library_is_missing_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(engines.ENGINES, "absent", "opsbackend.routing.absent_engine")

    with pytest.raises(engines.EngineUnavailable, match=r"dev extra: pip install"):
        engines.solver("absent")
