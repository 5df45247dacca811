from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import one_of
from opsbackend.api.site_policy import CREATES, RECORD
from opsbackend.domain.dispatch import day_plans, plan_insertion
from opsbackend.domain.labels import label_plan
from opsbackend.domain.records import get_or_404
from opsbackend.models import DayPlan
from opsbackend.routing.problem import OBJECTIVES

blp = Blueprint("plans", __name__, url_prefix="/api/v1/plans",
                description="Day plans: routes for every unit, previewed then applied")
DISPATCHERS = ("admin", "dispatcher")
RECORD_ID = validate.Range(min=1, max=2**31 - 1)
MOMENT = {"format": "date-time", "description": "in the site's time zone"}
# An id PostgreSQL's integer can hold; a bigger one is simply not found (404).
PLAN = "/<int(max=2147483647):plan_id>"


class PlanRequestSchema(Schema):
    site_id = fields.Integer(required=True, validate=RECORD_ID)
    day = fields.Date(required=True, metadata={"description": "the site's local date"})
    seconds = fields.Float(load_default=10, validate=validate.Range(min=1, max=120),
                           metadata={"description": "time limit of the search"})
    objective = one_of(OBJECTIVES, metadata={
        "description": "distance: total travel only; fleet: units first, then travel "
                       "(default: the site's routing_objective)"})


class VisitAreaSchema(Schema):
    """Which visit, and where: the patient's study code and home area, not a bare id."""

    phi_fields = ("city", "postal_code")

    visit_id = fields.Integer()
    study_code = fields.String()
    city = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)


class StopSchema(VisitAreaSchema):
    arrival = fields.String(metadata=MOMENT)
    start = fields.String(metadata=MOMENT)


class RouteSchema(Schema):
    unit_id = fields.Integer()
    call_sign = fields.String()
    shift_opens = fields.String(metadata=MOMENT)
    shift_closes = fields.String(metadata=MOMENT)
    starts_from = fields.String(metadata={
        "enum": ["base", "position", "visit"],
        "description": "base; position: its last reported one (recent); visit: the home of "
                       "the visit it is on or driving to (after_visit_id), once done"})
    after_visit_id = fields.Integer(allow_none=True)
    travel_minutes = fields.Float()
    depart_at = fields.String(allow_none=True, metadata=MOMENT)
    stops = fields.List(fields.Nested(StopSchema))


class LeftOutSchema(VisitAreaSchema):
    reason = fields.String()


class UnitRefSchema(Schema):
    unit_id = fields.Integer()
    call_sign = fields.String()


class MoveSchema(Schema):
    visit_id = fields.Integer()
    from_unit_id = fields.Integer()
    to_unit_id = fields.Integer()


class RetimeSchema(Schema):
    visit_id = fields.Integer()
    eta = fields.String(metadata=MOMENT)


class InsertionRecordSchema(Schema):
    visit_id = fields.Integer()
    unit_id = fields.Integer()
    start = fields.String(metadata=MOMENT)
    moved = fields.List(fields.Nested(MoveSchema))
    retimed = fields.List(fields.Nested(RetimeSchema))


class PlanSchema(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    day = fields.Date()
    status = fields.String()
    seconds = fields.Float()
    objective = fields.String(attribute="routes.objective")
    engine = fields.String(attribute="routes.engine")
    planned_from = fields.String(attribute="routes.planned_from", metadata={
        "format": "date-time", "description": "nothing is planned before this: the later of "
                                              "the day's start and the time it was computed"})
    routes = fields.List(fields.Nested(RouteSchema), attribute="routes.routes",
                         metadata={"description": "one per unit and shift"})
    unassigned = fields.List(fields.Nested(LeftOutSchema), attribute="routes.unassigned",
                             metadata={"description": "visits no unit can do, and why"})
    units_off_shift = fields.List(fields.Nested(UnitRefSchema),
                                  attribute="routes.units_off_shift")
    total_travel_minutes = fields.Float(attribute="routes.total_travel_minutes")
    insertions = fields.List(fields.Nested(InsertionRecordSchema),
                             attribute="routes.insertions")
    created_at = fields.DateTime()
    applied_at = fields.DateTime(allow_none=True)


class InsertRequestSchema(Schema):
    visit_id = fields.Integer(required=True, validate=RECORD_ID)


class InsertedSchema(Schema):
    visit_id = fields.Integer(attribute="visit.id")
    unit_id = fields.Integer(attribute="unit.id")
    call_sign = fields.String(attribute="unit.call_sign")
    start = fields.DateTime(attribute="visit.eta")
    moved = fields.List(fields.Nested(MoveSchema),
                        metadata={"description": "visits now on another unit"})
    retimed = fields.List(fields.Nested(RetimeSchema),
                          metadata={"description": "visits at a new time on the same unit"})
    plan = fields.Nested(PlanSchema)


@blp.route("", methods=["POST"])
class Plans(MethodView):
    @allow(*DISPATCHERS, sites=CREATES)
    @blp.arguments(PlanRequestSchema)
    @blp.response(201, PlanSchema)
    def post(self, data):
        """Compute a day plan from now on (a preview: nothing is assigned yet)"""
        session = context.session()
        plan = day_plans.plan_day(session, context.clock(), data["site_id"],
                                  data["day"], context.travel(), data["seconds"],
                                  objective=data.get("objective"))
        context.commit()
        return label_plan(session, plan)


@blp.route(PLAN, methods=["GET"])
class PlanById(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, PlanSchema)
    def get(self, plan_id):
        """Get a plan"""
        session = context.session()
        return label_plan(session, get_or_404(session, DayPlan, plan_id))


@blp.route(f"{PLAN}/apply", methods=["POST"])
class ApplyPlan(MethodView):
    @allow(*DISPATCHERS, sites=RECORD)
    @blp.response(200, PlanSchema)
    def post(self, plan_id):
        """Assign every planned visit, all or nothing (409 with the reason)"""
        session = context.session()
        plan = day_plans.apply_plan(session, context.clock(), plan_id, context.travel())
        context.commit()
        return label_plan(session, plan)


@blp.route(f"{PLAN}/insert", methods=["POST"])
class InsertIntoPlan(MethodView):
    @allow(*DISPATCHERS, sites=RECORD)
    @blp.arguments(InsertRequestSchema)
    @blp.response(200, InsertedSchema)
    def post(self, data, plan_id):
        """Fit an urgent visit into an applied plan, moving as few other visits as possible
        (409 with the reason when it cannot)"""
        inserted = plan_insertion.insert_visit(context.session(), context.clock(),
                                               context.scope(), plan_id, data["visit_id"],
                                               context.travel())
        context.commit()
        return inserted
