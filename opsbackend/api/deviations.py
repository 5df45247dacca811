from flask import Response, request
from flask.views import MethodView

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PageArgs, one_of, page_of, paging, utc_datetime
from opsbackend.api.site_policy import LISTING
from opsbackend.domain.history import deviations
from opsbackend.models.alert import DEVIATION_KINDS

blp = Blueprint("deviations", __name__, url_prefix="/api/v1/deviations",
                description="Protocol deviations, the trial's record (JSON or CSV)")


class DeviationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    occurred_at = fields.DateTime()
    site_id = fields.Integer()
    patient_id = fields.Integer()
    course_id = fields.Integer(allow_none=True)
    bag_id = fields.Integer(allow_none=True)
    visit_id = fields.Integer(allow_none=True)
    minutes = fields.Integer(allow_none=True, metadata={
        "description": "minutes late / interrupted / remaining"})
    evidence = fields.Dict()


class DeviationQueryArgs(PageArgs):
    site_id = fields.Integer()
    patient_id = fields.Integer()
    kind = one_of(DEVIATION_KINDS)
    since = utc_datetime()
    until = utc_datetime()


@blp.route("", methods=["GET"])
class Deviations(MethodView):
    @allow(*EVERYONE, sites=LISTING)
    @blp.arguments(DeviationQueryArgs, location="query")
    @blp.response(200, page_of(DeviationSchema))
    @blp.also_as(200, "text/csv", "all matching deviations as CSV (send Accept: text/csv)")
    def get(self, args):
        """List deviations; with ``Accept: text/csv`` every match as a CSV file"""
        page = paging(args)
        if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
            body = deviations.deviations_csv(context.session(), context.scope(), **args)
            return Response(body, mimetype="text/csv", headers={
                "Content-Disposition": 'attachment; filename="deviations.csv"'})
        return deviations.list_deviations(context.session(), context.scope(), **page, **args)
