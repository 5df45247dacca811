"""Dispatching visits to units: suggestions with reasons, safe assignment."""

from flask.views import MethodView

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PatientArea, record_id, utc_datetime
from opsbackend.api.site_policy import RECORD
from opsbackend.api.visits import VisitSchema
from opsbackend.domain.dispatch import assignment, lateness
from opsbackend.domain.labels import label_visit
from opsbackend.models import Visit

blp = Blueprint("dispatch", __name__, url_prefix="/api/v1/visits",
                description="Which unit can do a visit, and assigning one safely")
DISPATCHERS = ("admin", "dispatcher")


class SuggestionSchema(Schema):
    unit_id = fields.Function(lambda j: j.unit.id)
    call_sign = fields.Function(lambda j: j.unit.call_sign)
    suitable = fields.Function(lambda j: j.placement is not None)
    arrival = fields.Function(lambda j: j.placement.start.isoformat() if j.placement else None,
                              metadata={"description": "when the unit can start the visit"})
    travel_minutes = fields.Function(
        lambda j: round(j.placement.travel_seconds / 60, 1) if j.placement else None)
    reason = fields.Function(
        lambda j: j.refusal.reason if j.refusal else None,
        metadata={"description": "skill, status, shift, too_far, too_late, conflict"})
    detail = fields.Function(lambda j: j.refusal.detail if j.refusal else None,
                             metadata={"description": "the visit and the limit that bind"})
    binding_visit_id = fields.Function(
        lambda j: j.refusal.visit_id if j.refusal else None,
        metadata={"description": "the visit whose window or shift refuses it"})


class SuggestionsSchema(PatientArea):
    visit_id = fields.Integer()
    suitable = fields.List(fields.Nested(SuggestionSchema))
    excluded = fields.List(fields.Nested(SuggestionSchema))


class AssignSchema(Schema):
    unit_id = record_id(required=True)


@blp.route("/<int:visit_id>/suggestions", methods=["GET"])
class Suggestions(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, SuggestionsSchema)
    @blp.errors(404)
    def get(self, visit_id):
        """Units that can do the visit by arrival time, and why each other one cannot"""
        session = context.session()
        judged = assignment.suggestions(session, context.clock(), context.scope(), visit_id,
                                        context.travel())
        label = label_visit(session, session.get(Visit, visit_id)).label
        return {"visit_id": visit_id, "study_code": label.study_code, "city": label.city,
                "postal_code": label.postal_code,
                "suitable": [j for j in judged if j.placement],
                "excluded": [j for j in judged if j.refusal]}


@blp.route("/<int:visit_id>/assign", methods=["POST"])
class Assign(MethodView):
    @allow(*DISPATCHERS, sites=RECORD)
    @blp.arguments(AssignSchema)
    @blp.response(200, VisitSchema)
    @blp.errors(404, 409)
    def post(self, data, visit_id):
        """Assign (or reassign) a unit; 409 with the reason when it cannot take the visit.
        The unit's other visits nearby get their ETAs recomputed"""
        session = context.session()
        visit = assignment.assign(session, context.clock(), context.scope(), visit_id,
                                  data["unit_id"], context.travel())
        context.commit()
        return label_visit(session, visit)


class OnTheWaySchema(Schema):
    eta = utc_datetime(metadata={"description": "default: now plus the drive from the unit"})


@blp.route("/<int:visit_id>/on-the-way", methods=["POST"])
class OnTheWay(MethodView):
    @allow("admin", "dispatcher", "nurse", sites=RECORD)
    @blp.arguments(OnTheWaySchema)
    @blp.response(200, VisitSchema)
    @blp.errors(404, 409)
    def post(self, data, visit_id):
        """The unit is on its way: the visit is en route and the family gets the ETA by SMS"""
        session = context.session()
        visit = assignment.on_the_way(session, context.clock(), context.scope(), visit_id,
                                      data.get("eta"), context.travel())
        context.commit()
        return label_visit(session, visit)


class EtaSchema(Schema):
    eta = utc_datetime(required=True)


@blp.route("/<int:visit_id>/eta", methods=["POST"])
class Eta(MethodView):
    @allow(*DISPATCHERS, sites=RECORD)
    @blp.arguments(EtaSchema)
    @blp.response(200, VisitSchema)
    @blp.errors(404, 409)
    def post(self, data, visit_id):
        """Set the ETA of a visit waiting for its unit; a late visit's family is texted it"""
        session = context.session()
        visit = lateness.set_eta(session, context.clock(), context.scope(), visit_id,
                                 data["eta"])
        context.commit()
        return label_visit(session, visit)


@blp.route("/<int:visit_id>/unassign", methods=["POST"])
class Unassign(MethodView):
    @allow(*DISPATCHERS, sites=RECORD)
    @blp.response(200, VisitSchema)
    @blp.errors(404, 409)
    def post(self, visit_id):
        """Take the unit off the visit (back on the board); its other visits close up"""
        session = context.session()
        visit = assignment.unassign(session, context.clock(), context.scope(), visit_id,
                                    context.travel())
        context.commit()
        return label_visit(session, visit)
