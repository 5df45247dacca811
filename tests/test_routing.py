"""The routing engine: feasibility of what it returns, and the reasons for what it cannot do."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsbackend.cli import main
from opsbackend.routing import ortools_engine, solomon
from opsbackend.routing.problem import Job, Problem, Vehicle

DATA = Path(__file__).parent / "bench" / "data"
HOUR = 3600


def line_problem(jobs, vehicles):
    """Node 0 is the base; node n sits n x 10 minutes along a road from it."""
    size = 1 + max(job.node for job in jobs) if jobs else 1
    travel = [[abs(a - b) * 600 for b in range(size)] for a in range(size)]
    return Problem(vehicles, jobs, travel)


def check_feasible(problem, solution):
    jobs = {job.id: job for job in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    for route in solution.routes:
        vehicle = vehicles[route.vehicle_id]
        previous_end, previous_node = vehicle.available_from, vehicle.start_node
        for stop in route.stops:
            job = jobs[stop.job_id]
            assert job.window_start <= stop.start <= job.window_end
            assert stop.start >= previous_end + problem.travel[previous_node][job.node]
            assert job.skills <= vehicle.skills
            previous_end, previous_node = stop.start + job.service, job.node
        assert previous_end + problem.travel[previous_node][vehicle.end_node] <= \
            vehicle.available_until


def test_every_returned_arrival_is_inside_its_window():
    vehicles = [Vehicle(1, 0, 0, 7 * HOUR, 19 * HOUR, frozenset({"pediatric"}))]
    jobs = [Job(n, n, (8 + n) * HOUR, (9 + n) * HOUR, 45 * 60, frozenset({"pediatric"}))
            for n in range(1, 6)]
    problem = line_problem(jobs, vehicles)

    solution = ortools_engine.solve(problem, seconds=1)

    assert solution.unassigned == {}
    assert [s.job_id for s in solution.routes[0].stops] == [1, 2, 3, 4, 5]
    check_feasible(problem, solution)


def test_skills_decide_which_unit_takes_a_job():
    vehicles = [Vehicle(1, 0, 0, 7 * HOUR, 19 * HOUR, frozenset({"pediatric"})),
                Vehicle(2, 0, 0, 7 * HOUR, 19 * HOUR, frozenset({"pediatric", "infant"}))]
    jobs = [Job(1, 1, 9 * HOUR, 10 * HOUR, 1800, frozenset({"infant"})),
            Job(2, 2, 9 * HOUR, 10 * HOUR, 1800, frozenset({"pediatric"}))]
    problem = line_problem(jobs, vehicles)

    solution = ortools_engine.solve(problem, seconds=1)

    by_vehicle = {r.vehicle_id: [s.job_id for s in r.stops] for r in solution.routes}
    assert 1 in by_vehicle[2] and 1 not in by_vehicle[1]
    check_feasible(problem, solution)


def test_shifts_are_vehicle_time_windows():
    vehicles = [Vehicle(1, 0, 0, 7 * HOUR, 12 * HOUR), Vehicle(2, 0, 0, 12 * HOUR, 20 * HOUR)]
    jobs = [Job(1, 1, 8 * HOUR, 9 * HOUR, 1800), Job(2, 1, 15 * HOUR, 16 * HOUR, 1800)]
    problem = line_problem(jobs, vehicles)

    solution = ortools_engine.solve(problem, seconds=1)

    by_vehicle = {r.vehicle_id: [s.job_id for s in r.stops] for r in solution.routes}
    assert by_vehicle == {1: [1], 2: [2]}
    check_feasible(problem, solution)


def test_what_cannot_be_done_is_reported_with_the_reason():
    vehicles = [Vehicle(1, 0, 0, 7 * HOUR, 12 * HOUR, frozenset({"pediatric"}))]
    jobs = [Job(1, 1, 8 * HOUR, 9 * HOUR, 1800, frozenset({"infant"})),
            Job(2, 1, 14 * HOUR, 15 * HOUR, 1800),
            Job(3, 1, 8 * HOUR, 8 * HOUR + 600, 3 * HOUR),
            Job(4, 1, 8 * HOUR, 8 * HOUR + 600, 3 * HOUR)]
    problem = line_problem(jobs, vehicles)

    solution = ortools_engine.solve(problem, seconds=1)

    assert solution.unassigned[1] == "no unit has the skills infant"
    assert solution.unassigned[2] == "no unit on shift can reach it inside its window"
    assert len([j for j in (3, 4) if j in solution.unassigned]) == 1  # one of the twins fits
    check_feasible(problem, solution)


def test_no_jobs_and_no_units_are_answers_not_errors():
    empty = ortools_engine.solve(Problem([Vehicle(1, 0, 0, 0, HOUR)], [], [[0]]), seconds=1)
    nobody = ortools_engine.solve(line_problem([Job(1, 1, 0, HOUR, 60)], []), seconds=1)

    assert empty.unassigned == {} and empty.vehicles_used == 0
    assert nobody.unassigned == {1: "no units available"}


def test_a_solomon_file_is_read_as_published():
    instance = solomon.read(DATA / "C101.txt")

    assert (instance.name, instance.vehicles, instance.capacity) == ("C101", 25, 200)
    assert len(instance.customers) == 101
    assert instance.customers[1] == (45.0, 68.0, 10, 912, 967, 90)


def test_c101_is_solved_close_to_the_best_known():
    result = solomon.solve_file(DATA / "C101.txt", seconds=3)

    assert result["unassigned"] == 0
    assert result["distance"] <= 828.94 * 1.05


def test_the_vrptw_command_prints_one_json_line():
    output = CliRunner().invoke(main, ["vrptw", str(DATA / "C201.txt"), "--seconds", "2"]).output

    [line] = output.strip().splitlines()
    result = json.loads(line)
    assert set(result) == {"instance", "vehicles", "distance", "seconds"}
    assert result["instance"] == "C201" and result["vehicles"] == 3


def test_the_vrptw_command_runs_the_engine_it_is_given():
    pytest.importorskip("vroom")
    output = CliRunner().invoke(main, ["vrptw", str(DATA / "C201.txt"), "--seconds", "2",
                                       "--engine", "vroom"]).output

    assert json.loads(output)["vehicles"] == 3


def test_the_vrptw_command_names_the_engines_it_knows():
    result = CliRunner().invoke(main, ["vrptw", str(DATA / "C201.txt"), "--engine", "nope"])

    assert result.exit_code == 2 and "ortools" in result.output and "vroom" in result.output
