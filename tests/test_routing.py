"""Solomon's instances and the ``opsbackend vrptw`` command."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsbackend.cli import main
from opsbackend.routing import solomon

DATA = Path(__file__).parent / "bench" / "data"


def test_a_solomon_file_is_read_as_published():
    instance = solomon.read(DATA / "C101.txt")

    assert (instance.name, instance.vehicles, instance.capacity) == ("C101", 25, 200)
    assert len(instance.customers) == 101
    assert instance.customers[1] == (45.0, 68.0, 10, 912, 967, 90)


def test_solving_a_file_reports_the_distance_of_the_routes_found():
    # (Whether it answers within its seconds is the benchmark's to measure, not a test's.)
    result = solomon.solve_file(DATA / "C201.txt", seconds=1)

    assert result["unassigned"] == 0 and result["objective"] == "distance"
    assert result["distance"] <= 591.56 * 1.05


def vrptw(*arguments):
    return CliRunner().invoke(main, ["vrptw", str(DATA / "C201.txt"), *arguments])


def test_the_vrptw_command_prints_one_json_line():
    output = vrptw("--seconds", "1").output

    [line] = output.strip().splitlines()
    result = json.loads(line)
    assert set(result) == {"instance", "engine", "objective", "vehicles", "distance",
                           "seconds", "cpu_seconds", "unassigned", "best_known",
                           "best_known_vehicles", "gap_pct"}
    assert (result["instance"], result["engine"], result["objective"]) == \
        ("C201", "pyvrp", "distance")
    assert result["vehicles"] == 3 and result["unassigned"] == 0
    assert result["best_known"] == 591.56 and result["gap_pct"] < 1


def test_the_vrptw_command_runs_the_engine_and_objective_it_is_given():
    pytest.importorskip("vroom")
    result = json.loads(vrptw("--seconds", "1", "--engine", "vroom",
                              "--objective", "fleet").output)

    assert (result["engine"], result["objective"], result["vehicles"]) == ("vroom", "fleet", 3)


def test_the_vrptw_command_names_the_engines_and_objectives_it_knows():
    engine = vrptw("--engine", "nope")
    objective = vrptw("--objective", "cheapest")

    assert engine.exit_code == 2 and all(e in engine.output for e in ("pyvrp", "ortools",
                                                                       "vroom"))
    assert objective.exit_code == 2 and "distance" in objective.output \
        and "fleet" in objective.output


@pytest.mark.parametrize(("content", "said"), [
    ("", "empty"),
    ("garbage\n1 2 3\n", "no VEHICLE section"),
    ("X1\nVEHICLE\nNUMBER CAPACITY\n25 200\nCUSTOMER\n0 40 50 0 0 1236 zero\n",
     "not seven numbers"),
    ("X1\nVEHICLE\nNUMBER CAPACITY\n25 200\n", "needs a vehicle, the depot"),
])
def test_the_vrptw_command_says_what_a_file_lacks(tmp_path, content, said):
    path = tmp_path / "bad.txt"
    path.write_text(content)

    result = CliRunner().invoke(main, ["vrptw", str(path), "--seconds", "1"])

    assert result.exit_code == 1 and said in result.output
