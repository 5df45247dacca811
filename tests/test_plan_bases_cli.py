"""``opsbackend plan-bases`` and the API on the demo data: where a further unit would put
the demo's out-of-reach homes within 90 minutes, and what a second one adds."""

import json

from opsbackend.cli import main
from opsbackend.models import PlanningScenario
from tests.factories import count_rows


def run(app, *args):
    return app.test_cli_runner().invoke(main, list(args), catch_exceptions=False)


def test_on_the_demo_a_further_unit_reaches_harrisburg_and_a_second_scranton(app, database):
    run(app, "seed-demo")

    result = run(app, "plan-bases", "--region", "Northeast", "--minutes", "90", "--units", "2")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "17101 Harrisburg PA" in next(line for line in lines if "NEW" in line)
    assert any(line.startswith("  NE-008") for line in lines)  # still out of reach
    [two, three] = [line for line in lines if line.lstrip().startswith(("2 units", "3 units"))]
    assert "+7.0 visits/wk" in two and "17101 Harrisburg PA" in two
    assert "+2.33 visits/wk" in three and "18503 Scranton PA" in three
    assert count_rows(database, PlanningScenario) == 0  # not saved without --save


def test_the_api_gives_the_demo_the_same_answer(app, client):
    tokens = dict(line.split() for line in run(app, "seed-demo").output.splitlines()[1:])

    # The demo dispatcher is CHLA's (West); the admin acts for every site.
    body = client.post("/api/v1/planning/scenarios",
                       json={"region": "Northeast", "minutes": 90, "units": 2},
                       headers={"Authorization": f"Bearer {tokens['admin']}"}).json

    assert [b["label"] for b in body["bases"] if b["new"]] == ["17101 Harrisburg PA"]
    assert [p["study_code"] for p in body["uncovered"]] == ["NE-008"]
    assert body["marginal_value"][2]["gain_visits_per_week"] == 2.33


def test_plan_bases_saves_on_request_and_prints_json(app, database):
    run(app, "seed-demo")

    result = run(app, "plan-bases", "--region", "West", "--cover-all", "--save", "--json")

    scenario = json.loads(result.output)
    assert scenario["question"] == "cover_all" and scenario["coverage_pct"] == 100
    assert [b["label"] for b in scenario["bases"] if b["new"]] == ["93301 Bakersfield CA"]
    assert count_rows(database, PlanningScenario) == 1


def test_plan_bases_refuses_a_question_it_cannot_answer(app):
    assert run(app, "plan-bases", "--units", "2").exit_code == 2
    refused = run(app, "plan-bases", "--site-id", "999", "--units", "2")
    assert refused.exit_code == 1 and "Site 999 does not exist" in refused.output


def test_a_candidates_csv_of_coordinates_is_read_as_numbers(app, tmp_path):
    """A CSV's numbers are text; the API's strict fields once refused every lat and lon."""
    run(app, "seed-demo")
    candidates = tmp_path / "bases.csv"
    candidates.write_text("label,lat,lon\nBakersfield depot,35.3733,-119.0187\n")

    result = run(app, "plan-bases", "--region", "West", "--cover-all", "--no-postal-codes",
                 "--candidates", str(candidates), "--json")

    assert result.exit_code == 0, result.output
    scenario = json.loads(result.output)
    assert [b["label"] for b in scenario["bases"] if b["new"]] == ["Bakersfield depot"]


def test_a_candidates_or_demand_file_that_is_not_text_is_a_clear_error(app, tmp_path):
    binary = tmp_path / "photo.csv"
    binary.write_bytes(bytes(range(128, 256)))

    for option in ("--candidates", "--demand-csv"):
        result = app.test_cli_runner().invoke(main, [
            "plan-bases", "--region", "West", "--cover-all", option, str(binary)])
        assert result.exit_code == 2 and "not a UTF-8 text file" in result.output
