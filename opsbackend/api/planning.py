"""The access planner: where to base units so every patient is within reach (JSON, CSV,
GeoJSON)."""

from flask import Response, request
from flask.views import MethodView
from marshmallow import ValidationError, validate, validates_schema

from opsbackend.api import context, fields
from opsbackend.api.auth import allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PageArgs, one_of, page_of, paging
from opsbackend.api.planning_formats import GEOJSON, TABLES, as_csv, as_geojson
from opsbackend.api.site_policy import IN_DOMAIN
from opsbackend.domain.planning import scenarios
from opsbackend.models.site import REGIONS

blp = Blueprint("planning", __name__, url_prefix="/api/v1/planning",
                description="Access planner: where to base units, and what one more buys")
PLANNERS = ("admin", "dispatcher")
READERS = ("admin", "dispatcher", "viewer")
MAX_ID = 2**31 - 1


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters")


class CandidatePointSchema(Schema):
    label = fields.String(validate=[validate.Length(min=1, max=120), _no_nul])
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lon = fields.Float(validate=validate.Range(min=-180, max=180))
    postal_code = fields.String(validate=validate.Regexp(r"^\d{5}(-\d{4})?$"),
                                metadata={"description": "instead of lat/lon: its centroid"})

    @validates_schema
    def a_place(self, data, **_kwargs):
        has_point = "lat" in data and "lon" in data
        if has_point == ("postal_code" in data) or ("lat" in data) != ("lon" in data):
            raise ValidationError("give lat and lon, or a postal_code", "lat")


class ScenarioRequestSchema(Schema):
    site_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    region = one_of(REGIONS, metadata={"description": "your active sites in the region"})
    minutes = fields.Integer(load_default=90, validate=validate.Range(min=5, max=600),
                             metadata={"description": "T: a base reaches a home within it"})
    units = fields.Integer(validate=validate.Range(min=0, max=500),
                           metadata={"description": "maximal coverage with this many units "
                                                    "(today's, plus one base per new unit)"})
    cover_all = fields.Boolean(metadata={"description": "the fewest bases reaching every "
                                                        "home any candidate reaches"})
    candidates = fields.List(fields.Nested(CandidatePointSchema),
                             validate=validate.Length(max=2000),
                             metadata={"description": "candidate bases besides today's"})
    candidate_postal_codes = fields.Boolean(metadata={
        "description": "add the centroids of postal codes around the demand (default: "
                       "when no candidates are given)"})
    extra_demand_csv = fields.String(validate=validate.Length(max=500_000), metadata={
        "description": "CSV with a header: postal_code,expected_patients[,visits_per_week]"})
    keep_current_bases = fields.Boolean(load_default=True)
    service_minutes = fields.Integer(load_default=45, validate=validate.Range(min=5, max=480))
    new_unit_hours_per_week = fields.Float(load_default=84,
                                           validate=validate.Range(min=1, max=168))
    seconds = fields.Float(load_default=10, validate=validate.Range(min=1, max=60),
                           metadata={"description": "time limit of each exact solve"})
    name = fields.String(validate=[validate.Length(min=1, max=120), _no_nul])

    @validates_schema
    def one_question(self, data, **_kwargs):
        if ("site_id" in data) == ("region" in data):
            raise ValidationError("give site_id or region", "site_id")
        if ("units" in data) == bool(data.get("cover_all")):
            raise ValidationError("give units, or cover_all: true", "units")


class FormatArgs(Schema):
    table = one_of(TABLES, load_default="demand",
                   metadata={"description": "which table a CSV answer holds"})


class ScenarioQueryArgs(PageArgs):
    site_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    region = one_of(REGIONS)


class BaseSchema(Schema):
    label = fields.String()
    kind = fields.String(metadata={"description": "current, postal_code or given"})
    lat = fields.Float()
    lon = fields.Float()
    new = fields.Boolean(metadata={"description": "a base for a new unit"})
    units = fields.List(fields.String(), metadata={"description": "call signs based here"})
    crews = fields.Integer()
    patients = fields.Integer()
    visits_per_week = fields.Float()
    load_hours_per_week = fields.Float(metadata={"description": "visits x (service + drive "
                                                                "there and back)"})
    capacity_hours_per_week = fields.Float()
    utilisation = fields.Float(allow_none=True)
    over_capacity = fields.Boolean()
    crews_needed = fields.Integer()


class DemandPointSchema(Schema):
    kind = fields.String(metadata={"description": "home, expected (from the CSV), or area "
                                                  "(a postal code, for roles that see no "
                                                  "homes)"})
    patient_id = fields.Integer(allow_none=True)
    study_code = fields.String(allow_none=True)
    site_id = fields.Integer(allow_none=True)
    postal_code = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    patients = fields.Integer()
    patients_covered = fields.Integer()
    visits_per_week = fields.Float()
    nearest_base = fields.String(allow_none=True)
    minutes = fields.Float(allow_none=True, metadata={"description": "to the nearest base"})
    covered = fields.Boolean()
    reachable = fields.Boolean(metadata={"description": "false: no candidate reaches it"})


class SolverSchema(Schema):
    name = fields.String()
    status = fields.String(metadata={"description": "optimal, or time_limit (best found)"})
    seconds = fields.Float()
    time_limit = fields.Float()
    value = fields.Float(metadata={"description": "visits a week reached (cover_all: bases)"})
    bound = fields.Float(allow_none=True, metadata={"description": "proven best possible"})
    gap_pct = fields.Float(allow_none=True)


class GreedySchema(Schema):
    bases = fields.List(fields.String())
    covered_visits_per_week = fields.Float()
    coverage_pct = fields.Float()
    bases_needed = fields.Integer()


class MarginalValueSchema(Schema):
    units = fields.Integer()
    new_bases = fields.List(fields.String())
    covered_visits_per_week = fields.Float()
    coverage_pct = fields.Float()
    gain_visits_per_week = fields.Float(allow_none=True)
    patients_covered = fields.Integer()
    greedy_coverage_pct = fields.Float()
    gap_pct = fields.Float(allow_none=True)


class CapacitySchema(Schema):
    exceeded = fields.Boolean(metadata={"description": "coverage on paper exceeds capacity"})
    within_capacity_visits_per_week = fields.Float()
    within_capacity_pct = fields.Float()
    note = fields.String()


class AssumptionsSchema(Schema):
    service_minutes = fields.Integer()
    new_unit_hours_per_week = fields.Float()
    keep_current_bases = fields.Boolean()


class ScenarioSummarySchema(Schema):
    id = fields.Integer()
    name = fields.String(allow_none=True)
    region = fields.String()
    site_id = fields.Integer(allow_none=True)
    question = fields.String(metadata={"description": "max_cover or cover_all"})
    minutes = fields.Integer()
    units = fields.Integer()
    coverage_pct = fields.Float()
    created_at = fields.DateTime()


class ScenarioSchema(ScenarioSummarySchema):
    site_ids = fields.List(fields.Integer())
    current_units = fields.Integer()
    covered_visits_per_week = fields.Float()
    total_visits_per_week = fields.Float()
    patients = fields.Integer()
    patients_covered = fields.Integer()
    homes_without_location = fields.Integer()
    candidates_considered = fields.Integer()
    bases = fields.List(fields.Nested(BaseSchema))
    demand = fields.List(fields.Nested(DemandPointSchema))
    uncovered = fields.List(fields.Nested(DemandPointSchema))
    unreachable = fields.List(fields.Nested(DemandPointSchema))
    solver = fields.Nested(SolverSchema)
    greedy = fields.Nested(GreedySchema)
    marginal_value = fields.List(fields.Nested(MarginalValueSchema))
    capacity = fields.Nested(CapacitySchema)
    assumptions = fields.Nested(AssumptionsSchema)


def _formats(status: int):
    """The CSV and GeoJSON answers beside the JSON one (by the Accept header)."""

    def declare(view):
        view = blp.also_as(status, "text/csv", "one table (?table=demand|bases|marginal_value)")(
            view)
        return blp.also_as(status, GEOJSON, "map layer: bases and demand points")(view)

    return declare


def _negotiated(scenario: dict, table: str, status: int):
    wanted = request.accept_mimetypes.best_match(["application/json", "text/csv", GEOJSON])
    if wanted == "text/csv":
        return Response(as_csv(scenario, table), status=status, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="scenario-{table}.csv"'})
    if wanted == GEOJSON:
        return Response(as_geojson(scenario), status=status, mimetype=GEOJSON)
    return scenario


@blp.route("/scenarios", methods=["GET", "POST"])
class Scenarios(MethodView):
    @allow(*READERS, sites=IN_DOMAIN)
    @blp.arguments(ScenarioQueryArgs, location="query")
    @blp.response(200, page_of(ScenarioSummarySchema))
    def get(self, args):
        """List saved scenarios (those whose every site is yours)"""
        return scenarios.list_scenarios(context.session(), context.scope(), **paging(args),
                                        **args)

    @allow(*PLANNERS, sites=IN_DOMAIN)
    @blp.arguments(ScenarioRequestSchema)
    @blp.arguments(FormatArgs, location="query")
    @blp.response(201, ScenarioSchema)
    @_formats(201)
    def post(self, data, args):
        """Where to base units: coverage, bases, each home's nearest base, what each extra
        unit buys (saved)"""
        scenario = scenarios.create_scenario(context.session(), context.scope(),
                                             context.travel(), data)
        context.commit()
        return _negotiated(scenario, args["table"], 201)


@blp.route("/scenarios/<int:scenario_id>", methods=["GET"])
class ScenarioById(MethodView):
    @allow(*READERS, sites=IN_DOMAIN)
    @blp.arguments(FormatArgs, location="query")
    @blp.response(200, ScenarioSchema)
    @_formats(200)
    def get(self, args, scenario_id):
        """Get a saved scenario (viewers see demand by postal code, not by home)"""
        scenario = scenarios.get_scenario(context.session(), context.scope(), scenario_id)
        return _negotiated(scenario, args["table"], 200)
