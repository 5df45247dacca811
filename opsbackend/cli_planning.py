"""``opsbackend plan-bases``: the access planner from the command line, as a text summary."""

import csv
import io
import json

import click
from flask import current_app
from flask.cli import with_appcontext
from marshmallow import ValidationError

from opsbackend.domain.errors import DomainError
from opsbackend.domain.planning import scenarios
from opsbackend.domain.planning.disclosure import describe
from opsbackend.domain.scope import Scope
from opsbackend.models.site import REGIONS

BAR_WIDTH = 30


@click.command("plan-bases")
@click.option("--site-id", type=int, help="Plan for one site's patients...")
@click.option("--region", type=click.Choice(REGIONS), help="...or for a region's sites.")
@click.option("--minutes", type=click.IntRange(5, 600), default=90, show_default=True,
              help="T: a base reaches a home within this.")
@click.option("--units", type=click.IntRange(0, 500),
              help="Maximal coverage with this many units (today's included).")
@click.option("--cover-all", is_flag=True, help="The fewest bases reaching every home.")
@click.option("--candidates", type=click.Path(exists=True, dir_okay=False),
              help="CSV of candidate bases: label,lat,lon or label,postal_code.")
@click.option("--postal-codes/--no-postal-codes", default=None,
              help="Also consider postal-code centroids (default: when no --candidates).")
@click.option("--demand-csv", type=click.Path(exists=True, dir_okay=False),
              help="Expected patients: postal_code,expected_patients[,visits_per_week].")
@click.option("--keep-current-bases/--move-current-bases", default=True, show_default=True)
@click.option("--seconds", type=click.FloatRange(1, 600), default=10, show_default=True,
              help="Time limit of each exact solve.")
@click.option("--save", is_flag=True, help="Keep the scenario (readable in the API).")
@click.option("--json", "as_json", is_flag=True, help="Print the scenario as JSON.")
@with_appcontext
def plan_bases(site_id, region, minutes, units, cover_all, candidates, postal_codes,
               demand_csv, keep_current_bases, seconds, save, as_json):
    """Where to base units so that every patient is within reach, and what one more buys."""
    if (site_id is None) == (region is None):
        raise click.UsageError("give --site-id or --region")
    if (units is None) == (not cover_all):
        raise click.UsageError("give --units N or --cover-all")
    request = {"minutes": minutes, "seconds": seconds, "keep_current_bases": keep_current_bases,
               "site_id": site_id, "region": region, "units": units, "cover_all": cover_all}
    request = {k: v for k, v in request.items() if v is not None}
    if candidates:
        request["candidates"] = _candidate_points(candidates)
    if postal_codes is not None:
        request["candidate_postal_codes"] = postal_codes
    if demand_csv:
        request["extra_demand_csv"] = _read_text(demand_csv, "--demand-csv")
    database = current_app.extensions["database"]
    travel = current_app.extensions["travel"]
    scope = Scope.everything()
    try:
        with database.transaction(actor="cli:plan-bases") as session:
            scenario = describe(scope, scenarios.run_scenario(session, scope, travel, request,
                                                              save=save))
    except DomainError as error:
        raise click.ClickException(error.message) from error
    if as_json:
        click.echo(json.dumps(scenario, default=str, indent=2))
    else:
        click.echo("\n".join(summary_lines(scenario)))


def _candidate_points(path: str) -> list[dict]:
    from opsbackend.api.fields import read_from_text
    from opsbackend.api.planning import CandidatePointSchema

    text = _read_text(path, "--candidates")
    rows = [{k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}
            for row in csv.DictReader(io.StringIO(text, newline=""))]
    try:
        # A CSV's numbers are text, as a query string's are.
        return read_from_text(CandidatePointSchema(many=True)).load(rows)
    except ValidationError as error:
        raise click.BadParameter(json.dumps(error.messages), param_hint="--candidates") \
            from error


def _read_text(path: str, option: str) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError as error:
        raise click.BadParameter("not a UTF-8 text file", param_hint=option) from error


def summary_lines(s: dict) -> list[str]:
    where = f"site {s['site_id']}" if s["site_id"] else f"{s['region']} (sites {s['site_ids']})"
    solver = s["solver"]
    lines = [
        f"Access plan for {where}: reach within {s['minutes']} min, {s['units']} units "
        f"({s['current_units']} today)" + (f", saved as scenario {s['id']}" if s["id"] else ""),
        f"Demand: {s['patients']} patients, {s['total_visits_per_week']} visits a week"
        f" ({s['homes_without_location']} more homes without coordinates)",
        f"Coverage: {s['coverage_pct']} % of the visits ({s['patients_covered']} of "
        f"{s['patients']} patients); exact: {solver['name']} {solver['status']}, proven gap "
        f"{solver['gap_pct']} %, {solver['seconds']} s; greedy: {_greedy(s)}",
    ]
    if s["question"] == "cover_all":
        lines.append(f"Fewest bases reaching every home any candidate reaches: "
                     f"{len(s['bases'])} (proven least {solver['bound']:g}; "
                     f"{len(s['unreachable'])} points no candidate reaches)")
    lines.append("Bases:")
    for base in s["bases"]:
        state = "NEW" if base["new"] else "today"
        lines.append(f"  {base['label']:<32} {state:<5} {base['crews']} crew(s)  "
                     f"{base['patients']:>3} patients {base['visits_per_week']:>6} visits/wk  "
                     f"{base['load_hours_per_week']} of {base['capacity_hours_per_week']} "
                     f"crew-h/wk")
    lines.append("Out of reach of the chosen bases (nearest base, minutes):")
    lines += [f"  {_who(p)}: {p['nearest_base']}, {p['minutes']} min"
              + ("" if p["reachable"] else "  (no candidate reaches it)")
              for p in s["uncovered"]] or ["  none"]
    lines.append("What each unit buys (exact; greedy beside it):")
    for row in s["marginal_value"]:
        bar = "#" * round(row["coverage_pct"] / 100 * BAR_WIDTH)
        gain = "" if row["gain_visits_per_week"] is None else \
            f"+{row['gain_visits_per_week']} visits/wk"
        lines.append(f"  {row['units']:>3} units {bar:<{BAR_WIDTH}} {row['coverage_pct']:>6} % "
                     f"(greedy {row['greedy_coverage_pct']} %) {gain:<18} "
                     f"{', '.join(row['new_bases']) or '-'}")
    lines.append(f"Capacity: {s['capacity']['note']} ({s['capacity']['within_capacity_pct']} % "
                 "of the visits within capacity)")
    return lines


def _greedy(s: dict) -> str:
    greedy = s["greedy"]
    if "bases_needed" in greedy:
        return f"{greedy['bases_needed']} bases"
    return f"{greedy['coverage_pct']} %"


def _who(point: dict) -> str:
    if point["kind"] == "home":
        return f"{point['study_code']} (patient {point['patient_id']}, {point['postal_code']})"
    return f"{point['patients']} expected in {point['postal_code']}"
