from flask import g
from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, STAFF, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PageArgs, PatientArea, one_of, page_of, paging, short_text
from opsbackend.api.site_policy import LISTING, RECORD
from opsbackend.domain.alerting import alerts
from opsbackend.domain.labels import label_by_visit
from opsbackend.domain.records import get_or_404
from opsbackend.models import Alert
from opsbackend.models.alert import ALERT_KINDS, ALERT_STATUSES, RESOLUTION_REASONS

blp = Blueprint("alerts", __name__, url_prefix="/api/v1/alerts",
                description="Things that need a human: acknowledge to stop the ladder")


class AlertSchema(PatientArea):
    # Who acknowledged or resolved (a token's or user's name, an e-mail), and the note
    # written with a resolution (free text): staff only. A viewer reads the reason code.
    phi_fields = (*PatientArea.phi_fields, "acknowledged_by", "resolved_by", "resolution")

    id = fields.Integer()
    ref = fields.Function(lambda alert: f"A{alert.id}")
    kind = fields.String()
    status = fields.String()
    severity = fields.String()
    summary = fields.String()
    site_id = fields.Integer(allow_none=True)
    patient_id = fields.Integer(allow_none=True)
    course_id = fields.Integer(allow_none=True)
    bag_id = fields.Integer(allow_none=True)
    visit_id = fields.Integer(allow_none=True)
    call_sign = fields.String(allow_none=True, metadata={"description": "the visit's unit"})
    pump_report_id = fields.Integer(allow_none=True)
    raised_at = fields.DateTime()
    escalation_step = fields.Integer()
    next_escalation_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    resolution_reason = fields.String(allow_none=True)
    duplicate_of_id = fields.Integer(allow_none=True)


class AlertQueryArgs(PageArgs):
    status = one_of(ALERT_STATUSES)
    kind = one_of(ALERT_KINDS)
    site_id = fields.Integer()
    patient_id = fields.Integer()


class ResolveSchema(Schema):
    reason = one_of(RESOLUTION_REASONS, required=True, metadata={"description": (
        "why the alert is over; refused (409) while its danger stands, e.g. a bag still "
        "hanging past due on a running course")})
    note = short_text(300, load_default=None, metadata={
        "description": "what was done (required with reason other)"})
    duplicate_of = fields.Integer(load_default=None, validate=validate.Range(min=1,
                                  max=2**31 - 1), metadata={
        "description": "the alert this one duplicates (with reason duplicate)"})


@blp.route("", methods=["GET"])
class Alerts(MethodView):
    @allow(*EVERYONE, sites=LISTING)
    @blp.arguments(AlertQueryArgs, location="query")
    @blp.response(200, page_of(AlertSchema))
    def get(self, args):
        """List alerts, newest first"""
        return alerts.list_alerts(context.session(), context.scope(), **paging(args), **args)


@blp.route("/<int:alert_id>", methods=["GET"])
class AlertById(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, AlertSchema)
    def get(self, alert_id):
        """Get an alert"""
        session = context.session()
        return label_by_visit(session, [get_or_404(session, Alert, alert_id)])[0]


@blp.route("/<int:alert_id>/acknowledge", methods=["POST"])
class Acknowledge(MethodView):
    @allow(*STAFF, sites=RECORD)
    @blp.response(200, AlertSchema)
    def post(self, alert_id):
        """Acknowledge: someone is on it, the escalation pauses (the site's
        acknowledgement pause), then resumes while the danger stands"""
        alert = alerts.acknowledge(context.session(), context.clock(), alert_id, _who(),
                                   context.scope())
        context.commit()
        return alert


@blp.route("/<int:alert_id>/resolve", methods=["POST"])
class Resolve(MethodView):
    @allow(*STAFF, sites=RECORD)
    @blp.arguments(ResolveSchema)
    @blp.response(200, AlertSchema)
    def post(self, data, alert_id):
        """Resolve with a reason, once the danger is over"""
        alert = alerts.resolve(context.session(), context.clock(), alert_id, _who(),
                               data["reason"], data["note"], data["duplicate_of"],
                               context.scope())
        context.commit()
        return alert


def _who() -> str:
    return f"token:{g.token.id}:{g.token.name}"
