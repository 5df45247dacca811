"""The access planner's questions, as pure functions (no database)."""

import numpy as np
import pytest

from opsbackend.domain.errors import Invalid
from opsbackend.domain.planning import covering
from opsbackend.domain.planning.access_planner import Assumptions, plan
from opsbackend.domain.planning.demand import expected_from_csv
from opsbackend.domain.planning.places import Candidate, DemandPoint, visits_per_week
from opsbackend.routing.travel import GeodesicEstimator

# Along the 40th parallel a degree of longitude is 85.4 km; the geodesic estimator
# (50 km/h, road factor 1.3) takes 1.56 min a km, so 90 min reach 57.7 km: 0.676 degrees.
LAT = 40.0


def home(lon, weekly=7.0, patient_id=None):
    return DemandPoint(lat=LAT, lon=lon, visits_per_week=weekly, postal_code=f"{patient_id}",
                       patient_id=patient_id)


def place(label, lon, kind="given", units=(), hours=84.0):
    return Candidate(label=label, lat=LAT, lon=lon, kind=kind, units=tuple(units),
                     crew_minutes_per_week=hours * 60 * max(len(units), 1))


def test_visits_a_week_follow_the_bag_interval():
    assert [round(visits_per_week(h), 2) for h in (24, 48, 72, 96, 168)] == [7, 3.5, 2.33, 1.75,
                                                                             1]


def test_exact_beats_greedy_where_greedy_takes_the_big_middle_first():
    # Candidate 0 reaches points 0-3 (weight 4); 1 reaches 0-2 and 4-5; 2 reaches 3 and
    # 6-7... the classic trap: greedy takes 0 first and then can add only 2 more.
    reach = np.array([
        [1, 1, 1, 1, 0, 0, 0, 0],
        [1, 1, 0, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 0, 0, 1, 1],
    ], dtype=bool)
    weights = np.ones(8)

    exact = covering.max_cover(reach, weights, units=2)
    greedy = covering.greedy_max_cover(reach, weights, units=2)

    assert sorted(exact.chosen) == [1, 2] and exact.value == 8
    assert exact.status == "optimal" and exact.bound == 8 and exact.gap_pct == 0
    assert greedy.chosen[0] == 0 and greedy.value == 6 and greedy.bound is None


def test_a_fixed_base_stays_and_the_rest_goes_where_it_adds_most():
    reach = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool)
    weights = np.array([1.0, 1.0, 5.0, 1.0])

    answer = covering.max_cover(reach, weights, units=2, fixed=[0])

    assert answer.chosen == (0, 2) and answer.value == 8


def test_fewest_bases_reach_every_point_some_base_reaches():
    reach = np.array([
        [1, 1, 0, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 0, 1, 1, 0],
        [1, 0, 0, 1, 0],  # point 4: no candidate reaches it
    ], dtype=bool)

    answer = covering.fewest_bases(reach)

    assert answer.value == 2 and answer.bound == 2 and answer.status == "optimal"
    assert reach[list(answer.chosen)][:, :4].any(axis=0).all()


@pytest.mark.parametrize("solver", covering.SOLVERS)
def test_every_backend_proves_the_same_optimum(solver):
    rng = np.random.default_rng(3)
    reach = rng.random((30, 200)) < 0.08
    weights = rng.integers(1, 8, 200).astype(float)

    answer = covering.max_cover(reach, weights, units=4, solver=solver)

    assert answer.status == "optimal"
    assert answer.value == covering.max_cover(reach, weights, units=4).value
    assert answer.value >= covering.greedy_max_cover(reach, weights, 4).value


def test_out_of_time_the_answer_is_never_worse_than_greedy_and_says_how_far_it_may_be():
    rng = np.random.default_rng(5)
    reach = rng.random((200, 1500)) < 0.03
    weights = rng.integers(1, 8, 1500).astype(float)

    answer = covering.max_cover(reach, weights, units=25, seconds=0.01)

    greedy = covering.greedy_max_cover(reach, weights, 25)
    assert answer.status in ("optimal", "time_limit")
    assert answer.value >= greedy.value and answer.bound >= answer.value
    assert answer.gap_pct == round((answer.bound - answer.value) / answer.bound * 100, 4)


def demo_line():
    """Today's base at 0; a daily home near it, a daily home 1.5 degrees east (128 km) and
    a weekly one 3 degrees east; candidates along the way."""
    demand = [home(0.1, 7, 1), home(1.5, 7, 2), home(3.0, 1, 3)]
    candidates = [place("TODAY", 0.0, kind="current", units=["U-1"]),
                  place("EDGE", 1.0), place("EAST", 1.5), place("FAR", 3.0)]
    return demand, candidates


def test_one_more_unit_goes_to_the_heavier_remote_home_and_the_table_shows_each_step():
    demand, candidates = demo_line()

    result = plan(demand, candidates, GeodesicEstimator(), Assumptions(minutes=90), units=2)

    assert [b["label"] for b in result["bases"]] == ["TODAY", "EAST"]
    assert result["coverage_pct"] == pytest.approx(14 / 15 * 100, abs=0.01)
    far = result["demand"][2]
    assert far["covered"] is False and far["reachable"] is True
    assert far["nearest_base"] == "EAST" and far["minutes"] == pytest.approx(200, abs=1)
    table = result["marginal_value"]
    assert [row["units"] for row in table] == [1, 2, 3, 4, 5, 6]
    assert [row["gain_visits_per_week"] for row in table[:3]] == [None, 7.0, 1.0]
    assert table[2]["new_bases"] == ["EAST", "FAR"] and table[2]["coverage_pct"] == 100


def test_among_equally_good_bases_the_nearer_one_is_chosen():
    # EDGE (1.0) and EAST (1.5) both reach the home at 1.5 and nothing else: EAST is at it.
    demand, candidates = demo_line()
    candidates = candidates[:3]

    result = plan(demand[:2], candidates, GeodesicEstimator(), Assumptions(), units=2)

    assert result["bases"][1]["label"] == "EAST" and result["demand"][1]["minutes"] == 0


def test_cover_all_names_the_points_no_candidate_reaches():
    demand, candidates = demo_line()
    demand.append(home(6.0, 3.5, 4))  # 6 degrees east: nobody is based near it

    result = plan(demand, candidates, GeodesicEstimator(), Assumptions(), cover_all=True)

    assert [b["label"] for b in result["bases"]] == ["TODAY", "EAST", "FAR"]
    assert result["units"] == 3 and result["solver"]["bound"] == 3
    assert [p["patient_id"] for p in result["demand"] if not p["reachable"]] == [4]


def test_a_base_whose_visits_need_more_crew_time_than_it_has_is_flagged():
    # 30 daily homes 0.5 degrees (42.6 km, 66.5 min) from one base with one 12 h shift a
    # week: 210 visits x (45 + 2 x 66.5 min) = 623 h against 12 h: 52 crews' worth.
    demand = [home(0.5, 7, n) for n in range(30)]
    candidates = [place("TODAY", 0.0, kind="current", units=["U-1"], hours=12)]

    result = plan(demand, candidates, GeodesicEstimator(), Assumptions(), units=1)

    [base] = result["bases"]
    assert result["coverage_pct"] == 100
    assert base["load_hours_per_week"] == pytest.approx(623, abs=1)
    assert base["over_capacity"] is True and base["crews_needed"] == 52
    assert result["capacity"]["exceeded"] is True
    assert "TODAY needs" in result["capacity"]["note"]
    assert result["capacity"]["within_capacity_pct"] == pytest.approx(12 / base[
        "load_hours_per_week"] * 100, abs=0.05)


def test_moving_today_s_bases_lets_the_solver_place_every_unit():
    demand, candidates = demo_line()

    result = plan(demand, candidates, GeodesicEstimator(),
                  Assumptions(keep_current_bases=False), units=1)

    assert [b["label"] for b in result["bases"]] in (["TODAY"], ["EAST"])
    assert result["covered_visits_per_week"] == 7


def test_expected_patients_come_from_a_csv_of_postal_codes():
    points = expected_from_csv("postal_code,expected_patients,visits_per_week\n"
                               "17101,3,3.5\n18503,1,\n", field="extra_demand_csv")

    assert [(p.postal_code, p.patients, p.visits_per_week) for p in points] == [
        ("17101", 3, 10.5), ("18503", 1, 7.0)]
    assert points[0].lat == pytest.approx(40.26, abs=0.05)


@pytest.mark.parametrize("text, says", [
    ("zip,patients\n17101,3\n", "header"),
    ("postal_code,expected_patients\n00000,3\n", "line 2"),
    ("postal_code,expected_patients\n17101,-1\n", "expected_patients"),
    ("postal_code,expected_patients,visits_per_week\n17101,1,nan\n", "visits_per_week"),
])
def test_a_bad_csv_row_is_refused_naming_it(text, says):
    with pytest.raises(Invalid) as refused:
        expected_from_csv(text, field="extra_demand_csv")

    assert says in refused.value.message and refused.value.field == "extra_demand_csv"
