from flask.views import MethodView
from marshmallow import Schema, fields, validate

from opsbackend.api import context
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.domain.dispatch import day_plans
from opsbackend.domain.labels import label_plan
from opsbackend.domain.records import get_or_404
from opsbackend.models import DayPlan

blp = Blueprint("plans", __name__, url_prefix="/api/v1/plans",
                description="Day plans: routes for every unit, previewed then applied")
DISPATCHERS = ("admin", "dispatcher")


class PlanRequestSchema(Schema):
    site_id = fields.Integer(required=True)
    day = fields.Date(required=True, metadata={"description": "the site's local date"})
    seconds = fields.Float(load_default=10, validate=validate.Range(min=1, max=120),
                           metadata={"description": "time limit of the search"})


class PlanSchema(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    day = fields.Date()
    status = fields.String()
    seconds = fields.Float()
    routes = fields.Function(lambda plan: plan.routes["routes"])
    unassigned = fields.Function(lambda plan: plan.routes["unassigned"],
                                 metadata={"description": "visits no unit can do, and why"})
    units_off_shift = fields.Function(lambda plan: plan.routes["units_off_shift"])
    total_travel_minutes = fields.Function(lambda plan: plan.routes["total_travel_minutes"])
    created_at = fields.DateTime()
    applied_at = fields.DateTime()


@blp.route("", methods=["POST"])
class Plans(MethodView):
    @allow(*DISPATCHERS)
    @blp.arguments(PlanRequestSchema)
    @blp.response(201, PlanSchema)
    def post(self, data):
        """Compute a day plan (a preview: nothing is assigned yet)"""
        session = context.session()
        plan = day_plans.plan_day(session, context.clock(), data["site_id"],
                                  data["day"], context.travel(), data["seconds"])
        context.commit()
        return label_plan(session, plan)


@blp.route("/<int:plan_id>", methods=["GET"])
class PlanById(MethodView):
    @allow(*EVERYONE)
    @blp.response(200, PlanSchema)
    def get(self, plan_id):
        """Get a plan"""
        session = context.session()
        return label_plan(session, get_or_404(session, DayPlan, plan_id))


@blp.route("/<int:plan_id>/apply", methods=["POST"])
class ApplyPlan(MethodView):
    @allow(*DISPATCHERS)
    @blp.response(200, PlanSchema)
    def post(self, plan_id):
        """Assign every planned visit, all or nothing (409 with the reason)"""
        session = context.session()
        plan = day_plans.apply_plan(session, context.clock(), plan_id, context.travel())
        context.commit()
        return label_plan(session, plan)
