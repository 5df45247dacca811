from flask.views import MethodView

from opsbackend.api import context, fields
from opsbackend.api.auth import allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PageArgs, page_of, paging, utc_datetime
from opsbackend.api.site_policy import LISTING
from opsbackend.domain.history import audit

blp = Blueprint(
    "audit", __name__, url_prefix="/api/v1/audit-events",
    description="The audit trail: read-only, admins only",
)


class AuditEventSchema(Schema):
    id = fields.Integer()
    occurred_at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    table_name = fields.String()
    record_id = fields.String()
    changes = fields.Dict(allow_none=True,
                          metadata={"description": "{before: {...}, after: {...}}"})
    request_id = fields.String(allow_none=True)


class AuditQueryArgs(PageArgs):
    table_name = fields.String(metadata={"example": "patient"})
    record_id = fields.String()
    actor = fields.String()
    action = fields.String()
    request_id = fields.String()
    since = utc_datetime()
    until = utc_datetime()


@blp.route("", methods=["GET"])
class AuditEvents(MethodView):
    @allow("admin", sites=LISTING)
    @blp.arguments(AuditQueryArgs, location="query")
    @blp.response(200, page_of(AuditEventSchema))
    def get(self, args):
        """List audit events, filtered by record, actor, action or time"""
        return audit.list_events(context.session(), context.scope(), **paging(args), **args)
