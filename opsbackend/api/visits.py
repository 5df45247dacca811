from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import (
    PageArgs,
    PatientArea,
    one_of,
    page_of,
    paging,
    record_id,
    skills,
    text,
    utc_datetime,
)
from opsbackend.api.site_policy import CREATES, LISTING, RECORD
from opsbackend.domain.dispatch import visit_changes, visits
from opsbackend.domain.labels import label_visit
from opsbackend.models.visit import VISIT_KINDS, VISIT_REASON_CODES, VISIT_STATUSES

blp = Blueprint("visits", __name__, url_prefix="/api/v1/visits",
                description="Dispatch jobs at patients' homes")
DISPATCHERS = ("admin", "dispatcher")


class VisitSchema(PatientArea):
    # Free text a dispatcher writes ("gate code 4411, ask for Lucia") is staff's too.
    phi_fields = (*PatientArea.phi_fields, "notes")

    id = fields.Integer()
    code = fields.Function(lambda visit: f"V{visit.id}",
                           metadata={"description": "what nurses text, e.g. V123"})
    course_id = fields.Integer(allow_none=True)
    patient_id = fields.Integer()
    bag_id = fields.Integer(allow_none=True)
    kind = fields.String()
    status = fields.String()
    window_start = fields.DateTime()
    window_end = fields.DateTime()
    service_minutes = fields.Integer()
    required_skills = fields.List(fields.String())
    unit_id = fields.Integer(allow_none=True)
    call_sign = fields.String(allow_none=True, metadata={"description": "the unit's"})
    assigned_at = fields.DateTime(allow_none=True)
    eta = fields.DateTime(allow_none=True,
                          metadata={"description": "when the unit can start the visit"})
    arrived_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    family_confirmed_at = fields.DateTime(allow_none=True)
    notes = fields.String(allow_none=True)
    extra = fields.Function(lambda visit: visit.dedupe_key.startswith(visit_changes.EXTRA),
                            metadata={"description": "created by a dispatcher, not the "
                                                     "schedule", "type": "boolean"})
    rescheduled_at = fields.DateTime(allow_none=True,
                                     metadata={"description": "when a dispatcher last moved "
                                                              "the window"})
    cancelled_at = fields.DateTime(allow_none=True)
    reason_code = fields.String(allow_none=True,
                                metadata={"description": "of the last move or cancellation"})


class VisitQueryArgs(PageArgs):
    course_id = record_id()
    patient_id = record_id()
    site_id = record_id()
    unit_id = record_id()
    status = one_of(VISIT_STATUSES)
    kind = one_of(VISIT_KINDS)
    since = utc_datetime(metadata={"description": "windows ending at or after"})
    until = utc_datetime(metadata={"description": "windows starting before"})


class VisitCreateSchema(Schema):
    patient_id = record_id(required=True)
    course_id = record_id(allow_none=True, metadata={"description": "needed for a bag change"})
    bag_id = record_id(allow_none=True,
                       metadata={"description": "a bag change is for the bag hanging now"})
    kind = one_of(VISIT_KINDS, required=True)
    window_start = utc_datetime(required=True)
    window_end = utc_datetime(required=True)
    service_minutes = fields.Integer(validate=validate.Range(min=5, max=600))
    required_skills = skills(metadata={"description": "added to those the skill rules need"})
    notes = text(1000, allow_none=True)
    reason_code = one_of(VISIT_REASON_CODES, allow_none=True)
    confirm_late = fields.Boolean(load_default=False, metadata={
        "description": "plan a bag change ending after its bag is due (a deviation)"})
    unit_id = record_id(metadata={"description": "assign it at once"})


class VisitChangeSchema(Schema):
    window_start = utc_datetime()
    window_end = utc_datetime()
    kind = one_of(VISIT_KINDS, metadata={"description": "extra visits only"})
    service_minutes = fields.Integer(validate=validate.Range(min=5, max=600))
    required_skills = skills()
    notes = text(1000, allow_none=True)
    reason_code = one_of(VISIT_REASON_CODES, required=True)
    note = text(500, metadata={"description": "why, in words (kept in the audit trail)"})
    confirm_late = fields.Boolean(load_default=False)


class CancelSchema(Schema):
    reason_code = one_of(VISIT_REASON_CODES, required=True)
    note = text(500)


@blp.route("", methods=["GET", "POST"])
class Visits(MethodView):
    @allow(*EVERYONE, sites=LISTING)
    @blp.arguments(VisitQueryArgs, location="query")
    @blp.response(200, page_of(VisitSchema))
    def get(self, args):
        """List visits by window start"""
        return visits.list_visits(context.session(), context.scope(), **paging(args), **args)

    @allow(*DISPATCHERS, sites=CREATES)
    @blp.arguments(VisitCreateSchema)
    @blp.response(201, VisitSchema)
    @blp.errors(409)
    def post(self, data):
        """Create an extra visit (pump check, lab draw, bag change brought forward, ...)"""
        session = context.session()
        visit = visit_changes.create_visit(session, context.clock(), context.scope(), data,
                                           context.travel(), context.rules())
        context.commit()
        return label_visit(session, visit)


@blp.route("/<int:visit_id>", methods=["GET", "PATCH"])
class VisitById(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, VisitSchema)
    @blp.errors(404)
    def get(self, visit_id):
        """Get a visit"""
        session = context.session()
        return label_visit(session, visits.visit_in_scope(session, context.scope(), visit_id))

    @allow(*DISPATCHERS, sites=RECORD)
    @blp.arguments(VisitChangeSchema)
    @blp.response(200, VisitSchema)
    @blp.errors(404, 409)
    def patch(self, changes, visit_id):
        """Move the window or change the visit, with a reason; family and unit are told"""
        session = context.session()
        visit = visit_changes.move_visit(session, context.clock(), context.scope(), visit_id,
                                         changes, context.travel(), context.rules())
        context.commit()
        return label_visit(session, visit)


@blp.route("/<int:visit_id>/cancel", methods=["POST"])
class CancelVisit(MethodView):
    @allow(*DISPATCHERS, sites=RECORD)
    @blp.arguments(CancelSchema)
    @blp.response(200, VisitSchema)
    @blp.errors(404, 409)
    def post(self, data, visit_id):
        """Cancel a visit not started yet, with a reason; family and unit are told"""
        session = context.session()
        visit = visit_changes.cancel_visit(session, context.clock(), context.scope(), visit_id,
                                           data["reason_code"], data.get("note"),
                                           context.travel())
        context.commit()
        return label_visit(session, visit)
