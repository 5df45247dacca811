from flask.views import MethodView
from marshmallow import Schema, fields

from opsbackend.api import context
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.fields import PageArgs, one_of, page_of, paging, utc_datetime
from opsbackend.domain.dispatch import visits
from opsbackend.domain.records import get_or_404
from opsbackend.models import Visit
from opsbackend.models.visit import VISIT_KINDS, VISIT_STATUSES

blp = Blueprint("visits", __name__, url_prefix="/api/v1/visits",
                description="Dispatch jobs at patients' homes")


class VisitSchema(Schema):
    id = fields.Integer()
    code = fields.Function(lambda visit: f"V{visit.id}",
                           metadata={"description": "what nurses text, e.g. V123"})
    course_id = fields.Integer()
    patient_id = fields.Integer()
    bag_id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    window_start = fields.DateTime()
    window_end = fields.DateTime()
    service_minutes = fields.Integer()
    required_skills = fields.List(fields.String())
    unit_id = fields.Integer()
    assigned_at = fields.DateTime()
    eta = fields.DateTime()
    arrived_at = fields.DateTime()
    completed_at = fields.DateTime()
    family_confirmed_at = fields.DateTime()


class VisitQueryArgs(PageArgs):
    course_id = fields.Integer()
    patient_id = fields.Integer()
    site_id = fields.Integer()
    unit_id = fields.Integer()
    status = one_of(VISIT_STATUSES)
    kind = one_of(VISIT_KINDS)
    since = utc_datetime(metadata={"description": "windows ending at or after"})
    until = utc_datetime(metadata={"description": "windows starting before"})


@blp.route("", methods=["GET"])
class Visits(MethodView):
    @allow(*EVERYONE)
    @blp.arguments(VisitQueryArgs, location="query")
    @blp.response(200, page_of(VisitSchema))
    def get(self, args):
        """List visits by window start"""
        return visits.list_visits(context.session(), **paging(args), **args)


@blp.route("/<int:visit_id>", methods=["GET"])
class VisitById(MethodView):
    @allow(*EVERYONE)
    @blp.response(200, VisitSchema)
    def get(self, visit_id):
        """Get a visit"""
        return get_or_404(context.session(), Visit, visit_id)
