"""Families who asked to be called back (CALL / LLAMAR), oldest first, and closing them."""

from flask.views import MethodView

from opsbackend.api import context, fields
from opsbackend.api.auth import allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PageArgs, PatientArea, one_of, page_of, paging, record_id, text
from opsbackend.api.site_policy import LISTING, RECORD
from opsbackend.domain.messaging import callbacks
from opsbackend.models.callback import CALLBACK_OUTCOMES, CALLBACK_STATUSES

blp = Blueprint("callbacks", __name__, url_prefix="/api/v1/callbacks",
                description="Families who asked to be called back")
# Names and phones: for the people who make the calls.
DISPATCHERS = ("admin", "dispatcher")


class CallbackSchema(PatientArea):
    id = fields.Integer()
    site_id = fields.Integer()
    patient_id = fields.Integer()
    contact_id = fields.Integer()
    phi_fields = ("city", "postal_code", "contact_name", "phone")

    contact_name = fields.String(allow_none=True)
    relationship = fields.String(allow_none=True)
    language = fields.String(allow_none=True, metadata={"description": "the contact's"})
    phone = fields.String()
    requested_at = fields.DateTime()
    status = fields.String()
    done_at = fields.DateTime(allow_none=True)
    done_by = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    inbound_message_id = fields.Integer(allow_none=True)


class CallbackQueryArgs(PageArgs):
    status = one_of(CALLBACK_STATUSES)
    site_id = record_id()
    patient_id = record_id()


class DoneSchema(Schema):
    outcome = one_of(CALLBACK_OUTCOMES, required=True)
    note = text(500)


@blp.route("", methods=["GET"])
class Callbacks(MethodView):
    @allow(*DISPATCHERS, sites=LISTING)
    @blp.arguments(CallbackQueryArgs, location="query")
    @blp.response(200, page_of(CallbackSchema))
    def get(self, args):
        """List call-back requests, the longest waiting first"""
        return callbacks.list_callbacks(context.session(), context.scope(), **paging(args),
                                        **args)


@blp.route("/<int:callback_id>/done", methods=["POST"])
class CallbackDone(MethodView):
    @allow(*DISPATCHERS, sites=RECORD)
    @blp.arguments(DoneSchema)
    @blp.response(200, CallbackSchema)
    @blp.errors(404, 409)
    def post(self, data, callback_id):
        """Close a request with what came of the call; its overdue alert closes too"""
        session = context.session()
        done = callbacks.close_callback(session, context.clock(), context.scope(), callback_id,
                                        data["outcome"], data.get("note"),
                                        session.info["actor"])
        context.commit()
        return done
