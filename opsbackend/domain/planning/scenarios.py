"""Planning scenarios: the access planner run on a site's or a region's data, and saved.

A region scenario uses only the caller's sites in that region; a site the caller does
not hold is "not found". A saved scenario can be read by a caller who holds every site
whose patients it covers.
"""

from dataclasses import replace

from sqlalchemy import exists, select
from sqlmodel import Session

from opsbackend.domain.errors import Invalid, NotFound
from opsbackend.domain.planning import candidates as bases
from opsbackend.domain.planning import demand as demand_points
from opsbackend.domain.planning.access_planner import Assumptions, plan
from opsbackend.domain.planning.disclosure import describe
from opsbackend.domain.planning.postal_codes import REGION_STATES
from opsbackend.domain.records import Page, paginate
from opsbackend.domain.scope import Scope
from opsbackend.models import PlanningScenario, PlanningScenarioSite, Site

ASSUMPTION_KEYS = ("minutes", "service_minutes", "new_unit_hours_per_week", "seconds",
                   "keep_current_bases")


def run_scenario(session: Session, scope: Scope, travel, request: dict, *,
                 save: bool = True) -> PlanningScenario:
    """Answer one planning question; ``request`` as ``POST /planning/scenarios`` takes it:
    ``site_id`` or ``region``; ``minutes``; ``units`` or ``cover_all``; optionally
    ``candidates`` (points), ``candidate_postal_codes`` (default: when no point is given),
    ``extra_demand_csv`` (expected patients by postal code), ``name`` and the assumptions
    (``service_minutes``, ``new_unit_hours_per_week``, ``seconds``,
    ``keep_current_bases``)."""
    sites = _sites(session, scope, request)
    region = sites[0].region if request.get("site_id") else request["region"]
    site_ids = [s.id for s in sites]
    assumptions = Assumptions(**{k: request[k] for k in ASSUMPTION_KEYS if k in request})
    homes, unlocated = demand_points.homes(session, site_ids)
    csv_text = request.get("extra_demand_csv")
    expected = demand_points.expected_from_csv(csv_text, "extra_demand_csv") if csv_text else []
    demand = homes + expected
    if not demand:
        raise Invalid("no located home and no expected patient to plan for",
                      field="site_id" if request.get("site_id") else "region")
    places = _candidates(session, request, site_ids, demand, region, assumptions)
    units = request.get("units")
    current_units = sum(len(c.units) for c in places if c.is_current)
    if units is not None and assumptions.keep_current_bases and units < current_units:
        raise Invalid(f"the sites run {current_units} units now: ask for at least that many, "
                      "or set keep_current_bases to false", field="units")
    result = plan(demand, places, travel, assumptions, units=units,
                  cover_all=request.get("cover_all", False))
    result["homes_without_location"] = unlocated
    scenario = PlanningScenario(
        name=request.get("name"), region=region, site_id=request.get("site_id"),
        question=result["question"], minutes=assumptions.minutes, units=result["units"],
        coverage_pct=result["coverage_pct"],
        parameters=_parameters(request, site_ids, len(expected)),
        result=result,
    )
    if save:
        session.add(scenario)
        session.flush()
        session.add_all(PlanningScenarioSite(scenario_id=scenario.id, site_id=site_id)
                        for site_id in site_ids)
        session.flush()
    return scenario


def create_scenario(session: Session, scope: Scope, travel, request: dict) -> dict:
    """Run and save a scenario; what the caller may see of it."""
    return describe(scope, run_scenario(session, scope, travel, request))


def list_scenarios(session: Session, scope: Scope, *, page: int, page_size: int,
                   site_id: int | None = None, region: str | None = None) -> Page:
    stmt = select(PlanningScenario).where(_readable(scope)).order_by(PlanningScenario.id.desc())
    if site_id is not None:
        stmt = stmt.where(exists().where(PlanningScenarioSite.scenario_id == PlanningScenario.id,
                                         PlanningScenarioSite.site_id == site_id))
    if region is not None:
        stmt = stmt.where(PlanningScenario.region == region)
    return paginate(session, stmt, page, page_size)


def get_scenario(session: Session, scope: Scope, scenario_id: int) -> dict:
    scenario = session.scalars(select(PlanningScenario).where(
        PlanningScenario.id == scenario_id, _readable(scope))).first()
    if scenario is None:
        raise NotFound(f"Planning scenario {scenario_id} does not exist")
    return describe(scope, scenario)


def _readable(scope: Scope):
    """No site of the scenario lies outside the caller's sites."""
    return ~exists().where(PlanningScenarioSite.scenario_id == PlanningScenario.id,
                           ~scope.where(PlanningScenarioSite.site_id))


def _sites(session, scope: Scope, request: dict) -> list[Site]:
    if request.get("site_id") is not None:
        site = session.get(Site, request["site_id"])
        if site is None or not scope.covers(site.id):
            raise NotFound(f"Site {request['site_id']} does not exist", field="site_id")
        return [site]
    sites = session.scalars(
        select(Site).where(Site.region == request["region"], Site.active.is_(True),
                           scope.where(Site.id)).order_by(Site.id)
    ).all()
    if not sites:
        raise Invalid(f"none of your active sites is in the {request['region']} region",
                      field="region")
    return list(sites)


def _candidates(session, request, site_ids, demand, region, assumptions):
    """Today's bases, the given points, and postal codes around the demand (by default
    when no point is given)."""
    found = bases.current_bases(session, site_ids, assumptions.new_unit_hours_per_week)
    given = request.get("candidates") or []
    found += bases.given(given, field="candidates")
    if request.get("candidate_postal_codes", not given):
        states = set(REGION_STATES[region]) | bases.states_of(demand)
        found += bases.around(demand, states, assumptions.minutes)
    if not found:
        raise Invalid("no candidate base: the sites have no units, no point was given and "
                      "postal codes were left out", field="candidates")
    return _unique_labels(found)


def _unique_labels(places):
    seen: dict[str, int] = {}
    named = []
    for place in places:
        seen[place.label] = seen.get(place.label, 0) + 1
        if seen[place.label] > 1:
            place = replace(place, label=f"{place.label} ({seen[place.label]})")
        named.append(place)
    return named


def _parameters(request: dict, site_ids: list[int], expected_points: int) -> dict:
    """What was asked, as it is kept with the scenario (the CSV as its row count)."""
    kept = {k: v for k, v in request.items() if k not in ("extra_demand_csv", "name")}
    return kept | {"site_ids": site_ids, "expected_points": expected_points}
