"""The EVV exception queue: check-ins that did not verify, cleared by a supervisor."""

from flask.views import MethodView

from opsbackend.api import context, fields
from opsbackend.api.auth import allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PageArgs, PatientArea, one_of, page_of, paging, record_id, text
from opsbackend.api.site_policy import LISTING, RECORD
from opsbackend.domain.phone import evv
from opsbackend.models.evv import EVV_EXCEPTION_KINDS, EVV_EXCEPTION_STATUSES, EVV_REASON_CODES

blp = Blueprint("evv", __name__, url_prefix="/api/v1/evv-exceptions",
                description="Check-ins that did not verify (EVV), cleared with a reason")
SUPERVISORS = ("admin", "dispatcher")


class EvvExceptionSchema(PatientArea):
    id = fields.Integer()
    site_id = fields.Integer()
    kind = fields.String(metadata={"description": ", ".join(EVV_EXCEPTION_KINDS)})
    detail = fields.String(allow_none=True)
    status = fields.String()
    visit_id = fields.Integer(allow_none=True)
    patient_id = fields.Integer(allow_none=True)
    call_sign = fields.String(allow_none=True, metadata={"description": "the visit's unit"})
    check_in_id = fields.Integer(allow_none=True)
    nurse_id = fields.Integer(allow_none=True)
    phi_fields = ("city", "postal_code", "nurse_name")

    nurse_name = fields.String(allow_none=True)
    created_at = fields.DateTime()
    cleared_at = fields.DateTime(allow_none=True)
    cleared_by = fields.String(allow_none=True)
    reason_code = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class EvvQueryArgs(PageArgs):
    status = one_of(EVV_EXCEPTION_STATUSES)
    kind = one_of(EVV_EXCEPTION_KINDS)
    site_id = record_id()
    visit_id = record_id()
    nurse_id = record_id()


class ClearSchema(Schema):
    reason_code = one_of(EVV_REASON_CODES, required=True)
    note = text(500, required=True)


@blp.route("", methods=["GET"])
class EvvExceptions(MethodView):
    @allow(*SUPERVISORS, sites=LISTING)
    @blp.arguments(EvvQueryArgs, location="query")
    @blp.response(200, page_of(EvvExceptionSchema))
    def get(self, args):
        """List exceptions, oldest first"""
        return evv.list_exceptions(context.session(), context.scope(), **paging(args), **args)


@blp.route("/<int:exception_id>/clear", methods=["POST"])
class ClearEvvException(MethodView):
    @allow(*SUPERVISORS, sites=RECORD)
    @blp.arguments(ClearSchema)
    @blp.response(200, EvvExceptionSchema)
    @blp.errors(404, 409)
    def post(self, data, exception_id):
        """Clear an exception with a reason code and a note (audited)"""
        session = context.session()
        cleared = evv.clear(session, context.clock(), context.scope(), exception_id,
                            data["reason_code"], data["note"], session.info["actor"])
        context.commit()
        return cleared
