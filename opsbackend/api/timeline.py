from flask.views import MethodView

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.site_policy import RECORD
from opsbackend.domain.history.timeline import patient_timeline
from opsbackend.models import Patient, Site

blp = Blueprint("timeline", __name__, url_prefix="/api/v1/patients",
                description="A patient's infusion timeline")


class EntrySchema(Schema):
    at = fields.DateTime()
    type = fields.String()
    record_id = fields.Integer()
    course_id = fields.Integer(allow_none=True)
    summary = fields.String()
    details = fields.Dict()


class TimelineSchema(Schema):
    patient_id = fields.Integer()
    site_timezone = fields.String()
    entries = fields.List(fields.Nested(EntrySchema))


@blp.route("/<int:patient_id>/timeline", methods=["GET"])
class Timeline(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, TimelineSchema)
    def get(self, patient_id):
        """Course events, bags, pump reports, visits, check-ins, alerts and deviations in time
        order"""
        session = context.session()
        entries = patient_timeline(session, patient_id)
        patient = session.get(Patient, patient_id)
        return {"patient_id": patient_id,
                "site_timezone": session.get(Site, patient.site_id).timezone,
                "entries": entries}
