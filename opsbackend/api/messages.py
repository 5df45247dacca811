"""Every SMS in and out, with delivery status and error codes (bodies: dispatchers, admins)."""

from flask.views import MethodView

from opsbackend.api import context, fields
from opsbackend.api.auth import STAFF, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.fields import (
    PageArgs,
    PatientArea,
    one_of,
    page_of,
    paging,
    record_id,
    utc_datetime,
)
from opsbackend.api.site_policy import LISTING
from opsbackend.domain.messaging import message_log
from opsbackend.models.messaging import OUTBOUND_STATUSES

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages",
                description="SMS in and out: what arrived, what failed and why")


class MessageSchema(PatientArea):
    direction = fields.String(metadata={"description": "outbound or inbound"})
    id = fields.Integer(metadata={"description": "of the outbound or the inbound message"})
    at = fields.DateTime(metadata={"description": "queued (outbound) or received (inbound)"})
    phi_fields = ("city", "postal_code", "phone")

    phone = fields.String(metadata={"description": "to (outbound) or from (inbound)"})
    site_id = fields.Integer(allow_none=True)
    patient_id = fields.Integer(allow_none=True)
    contact_id = fields.Integer(allow_none=True)
    nurse_id = fields.Integer(allow_none=True)
    visit_id = fields.Integer(allow_none=True)
    alert_id = fields.Integer(allow_none=True)
    template = fields.String(allow_none=True)
    handled_as = fields.String(allow_none=True, metadata={"description": "inbound: read as"})
    purpose = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "queued ... delivered, failed, "
                                                    "suppressed; inbound: received"})
    suppressed_reason = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True, metadata={"description": "the provider's"})
    error = fields.String(allow_none=True)
    attempts = fields.Integer(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    body = fields.String(allow_none=True, metadata={"description": "dispatchers and admins"})
    reply_body = fields.String(allow_none=True, metadata={"description": "inbound: what we "
                                                                         "answered"})


class MessageQueryArgs(PageArgs):
    patient_id = record_id()
    contact_id = record_id()
    nurse_id = record_id()
    status = one_of((*OUTBOUND_STATUSES, message_log.RECEIVED))
    direction = one_of(("outbound", "inbound"))
    since = utc_datetime(metadata={"description": "queued or received at or after"})


@blp.route("", methods=["GET"])
class Messages(MethodView):
    @allow(*STAFF, sites=LISTING)
    @blp.arguments(MessageQueryArgs, location="query")
    @blp.response(200, page_of(MessageSchema))
    def get(self, args):
        """List SMS in and out, newest first, with delivery status and error code"""
        return message_log.list_messages(context.session(), context.scope(), **paging(args),
                                         **args)
